"""Starting a worker process: its folders, its settings, its launch. No torch here, so that a student's `pytest`
can start its worker before importing torch itself (start_early): the two imports then run side by side."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import isolation
from autograder.sandbox import portable
from autograder.sandbox import zygote
from autograder.course.config import KIT_ROOT, Limits, load_config

# Confine first (namespaces need a single-threaded process), then import torch and serve.
WORKER_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); from autograder.sandbox.isolation import confine_worker; "
               "confinement = confine_worker(sys.argv[2]); from autograder.sandbox.worker import main; import json; "
               "main(json.loads(sys.argv[2]), confinement)")
START_SECONDS = 120  # starting Python and importing torch; not charged to the student
_slots_in_use: set[int] = set()
_slots_lock = threading.Lock()


class WorkerHome:
    """A worker's folders (home 0711; scratch: the submission's files, its working directory; root: where a
    confined worker mounts its file tree) and its slot, hence its user when the grader is root."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix=isolation.home_prefix(os.getpid())))
        self.path.chmod(0o711)  # a worker of its own user reaches its scratch, lists nothing here
        self.scratch, self.root = self.path / "work", self.path / "root"
        self.scratch.mkdir()
        self.root.mkdir()
        with _slots_lock:
            self.slot = next((s for s in range(isolation.SLOTS) if s not in _slots_in_use), None)
            if self.slot is None:
                raise RuntimeError(f"more than {isolation.SLOTS} sandboxes open at once in one grading process")
            _slots_in_use.add(self.slot)
        self.uid = isolation.worker_uid(os.getpid(), self.slot)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        with _slots_lock:
            _slots_in_use.discard(self.slot)


@dataclass
class Launched:
    """A started worker: the process (a Popen, or the zygote's fork), where requests go, where replies come from
    (an fd, or a portable.PipeReader), and the stream of what it prints."""
    process: object
    requests: int
    replies: object
    output: object


def launch(home: WorkerHome, limits: Limits, device: str, portable_worker: bool) -> Launched:
    """Start a worker for this home; device "auto" lets the worker take CUDA when it has it, as the grader does."""
    settings = {
        "scratch": str(home.scratch), "root": str(home.root), "kit_root": str(KIT_ROOT),
        "device": device, "uid": home.uid, "parent_pid": os.getpid(),
        "threads": limits.threads, "file_size_mb": limits.file_size_mb,
        "memory_mb": limits.memory_mb, "processes": limits.processes,
        "gpu_memory_fraction": limits.gpu_memory_fraction, "max_message": limits.message_mb << 20,
    }
    threads = {"OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads)}
    if portable_worker:  # a student's machine: their own environment, no Linux confinement
        process, requests, replies = portable.launch(settings, {**os.environ, **threads}, str(KIT_ROOT),
                                                     str(home.scratch))
        return Launched(process, requests, replies, process.stderr)
    return _launch_linux(settings, threads, home.scratch)


def _launch_linux(settings: dict, threads: dict, scratch: Path) -> Launched:
    """A warm fork of the zygote when there is one, else a cold worker."""
    requests_read, requests = os.pipe()
    replies, replies_write = os.pipe()
    output_read, stdout_fd = os.pipe()
    settings = {**settings, "requests_fd": requests_read, "replies_fd": replies_write, "stdout_fd": stdout_fd}
    env = {"PATH": os.defpath, "HOME": str(scratch), "TMPDIR": str(scratch), "LANG": "C.UTF-8",
           "USER": "student", "LOGNAME": "student", **threads}
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    output = open(output_read, "rb")
    process = zygote.start_worker(settings, env, output, START_SECONDS)  # a warm fork, when there is one
    if process is None:
        process = subprocess.Popen(
            [sys.executable, "-I", "-u", "-B", "-c", WORKER_BOOT, str(KIT_ROOT), json.dumps(settings)],
            cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=stdout_fd,
            stderr=subprocess.STDOUT, pass_fds=(requests_read, replies_write), start_new_session=True)
    for fd in (requests_read, replies_write, stdout_fd):
        os.close(fd)
    return Launched(process, requests, replies, output)


# -- a student's run: the worker starts before pytest imports torch and the tests ---------------
_early: tuple[WorkerHome, Launched, Limits, str] | None = None


def start_early(config_path: Path) -> None:
    """Start the worker of a student's `pytest` now (the student folder's conftest.py calls this first), for the
    first sandbox with the same limits to take (take_early). Never fails the run: without it, the sandbox
    starts its worker when the first test needs it, as a grader does."""
    global _early
    try:
        config = load_config(config_path)
        home = WorkerHome()
        _early = (home, launch(home, config.limits, config.device, isolation.portable_worker_wanted()),
                  config.limits, config.device)
        atexit.register(_end_early)
    except Exception:  # noqa: BLE001 - a missing or broken grading.yml is reported by the plugin itself
        _early = None


def take_early(limits: Limits, device: str) -> tuple[WorkerHome, Launched] | None:
    """The worker start_early started, if it has these limits and device; any other is ended."""
    global _early
    found, _early = _early, None
    if found is None:
        return None
    home, launched, early_limits, early_device = found
    if early_limits == limits and early_device in ("auto", device):
        return home, launched
    _end(home, launched)
    return None


def _end_early() -> None:
    if _early is not None:
        _end(*_early[:2])


def _end(home: WorkerHome, launched: Launched) -> None:
    launched.process.kill()
    launched.process.wait()
    if isinstance(launched.requests, int):
        os.close(launched.requests)
    if isinstance(launched.replies, int):
        os.close(launched.replies)
    home.remove()
