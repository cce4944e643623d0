"""Watching the processes of grading: graders this process starts, and their workers (by user)."""
import contextlib
import os
import threading
from pathlib import Path

from autograder.sandbox import isolation


def running(pid: int) -> bool:
    """Whether pid is a live (not zombie) process of a worker user."""
    return pid in isolation.processes_of(range(isolation.FIRST_WORKER_UID, 1 << 32))


def workers_of(graders: set[int]) -> set[int]:
    """The live processes running as a worker user of one of these grading processes."""
    return {pid for grader in graders
            for pid in isolation.processes_of(range(isolation.worker_uid(grader, 0),
                                                    isolation.worker_uid(grader, isolation.SLOTS)))}


@contextlib.contextmanager
def watching_graders():
    """The set of grading processes this process starts meanwhile, filled in by a watching thread."""
    graders, done = set(), threading.Event()

    def watch():
        while not done.wait(0.2):
            graders.update(pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if grader_of_mine(pid))
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield graders
    finally:
        done.set()
        watcher.join()


def state_of(pid: int) -> str:
    """R (running), S (sleeping), Z (zombie)... as /proc/<pid>/status says; "" once it is gone."""
    try:
        return next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("State:"))
    except (OSError, StopIteration):
        return ""


def grader_of_mine(pid: int) -> bool:
    """A grading process this process started: a cold `python -m pytest ... --results=...` (its child), or a
    fork of its warm fork server (the same command line: a program the server runs meanwhile, such as the
    `ldconfig` behind ctypes.util.find_library, is not a grader; a loaded machine once caught one)."""
    parent = parent_of(pid)
    if parent == os.getpid():
        return b"--results=" in command_line(pid)
    if parent is None or parent_of(parent) != os.getpid():
        return False
    server = command_line(parent)
    return b"autograder.batches.forkserver" in server and command_line(pid) == server


def parent_of(pid: int) -> int | None:
    try:
        return int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                        if line.startswith("PPid:")))
    except (OSError, StopIteration):
        return None


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
