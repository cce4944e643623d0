"""Warm grading: a process that imports torch, pytest and the kit once, then forks one pytest run per submission."""
from __future__ import annotations

import gc
import json
import os
import queue
import select
import subprocess
import sys
import time
import traceback

from autograder.course.config import KIT_ROOT
from autograder.grading.environment import pytest_env
from autograder.sandbox.isolation import die_with_parent, end_workers_of, kill
from autograder.sandbox.zygote import ZYGOTE_ENV, Zygote

READY_SECONDS = 120  # starting Python and importing torch, once per server


class ServerLost(Exception):
    """The fork server died or stopped answering."""


class ForkServer:
    """The grader's handle on one warm server: one submission at a time."""

    def __init__(self, env: dict):
        self.process = subprocess.Popen([sys.executable, "-m", "autograder.batches.forkserver"], cwd=KIT_ROOT, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                                        start_new_session=True)  # a terminal's Ctrl-C reaches the grader only
        self.ready = False
        self.running: int | None = None  # the pid of the grading run in progress

    def grade(self, args: list[str], log: str, limit: float) -> tuple[int | None, bool]:
        """Run `pytest args` in a fresh fork, output to log; (exit status or None if it died, whether it ran
        past limit seconds and was killed). Every worker it started is ended before its pid is released."""
        if not self.ready:  # the server's start is the batch's, not this submission's
            self._expect("ready", time.monotonic() + READY_SECONDS)
            self.ready = True
        self._send({"args": args, "log": log})
        pid = self.running = self._expect("pid", time.monotonic() + 10)
        deadline = time.monotonic() + limit
        try:
            self._expect("ended", deadline)
            timed_out = False
        except ServerLost:
            timed_out = self.process.poll() is None
            kill(pid)
            if not timed_out:  # the server is gone: its child died with it (PDEATHSIG)
                end_workers_of(pid)
                raise
            self._expect("ended", time.monotonic() + 10)
        end_workers_of(pid)  # before the grading process is reaped, so that its pid (their user) is not reused
        self._send({"reap": pid})
        status = self._expect("status", time.monotonic() + 10)
        self.running = None
        return status, timed_out

    def close(self) -> None:
        kill(self.process.pid)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()

    def _send(self, message: dict) -> None:
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
        except OSError:
            raise ServerLost() from None

    def _expect(self, key: str, deadline: float):
        stream = self.process.stdout
        if not select.select([stream], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise ServerLost()
        line = stream.readline()  # unbuffered: a second reply stays in the pipe, where select sees it
        if not line.endswith(b"\n"):
            raise ServerLost()
        return json.loads(line)[key]


class ForkServers:
    """One warm server per job and a zygote for their workers; a server that died is replaced."""

    def __init__(self, jobs: int):
        self.stopping = False
        self.zygote = Zygote()
        self.env = pytest_env(**{ZYGOTE_ENV: self.zygote.path, "OPENBLAS_NUM_THREADS": "1"})  # no BLAS threads: forkable
        self.free: queue.Queue[ForkServer] = queue.Queue()
        self.all = [ForkServer(self.env) for _ in range(jobs)]  # started here, in the caller's thread (see serve)
        for server in self.all:
            self.free.put(server)

    def grade(self, args: list[str], log: str, limit: float) -> tuple[int | None, bool]:
        server = self.free.get()
        try:
            return server.grade(args, log, limit)
        except ServerLost:
            if self.stopping:
                return None, False
            server.close()
            self.all.remove(server)
            server = ForkServer(self.env)
            self.all.append(server)
            return None, False
        finally:
            self.free.put(server)

    def stop(self) -> None:
        """End every grading run in progress and the servers (an interrupted batch); grade() returns at once."""
        self.stopping = True
        for server in list(self.all):
            if server.running is not None:
                kill(server.running)
                end_workers_of(server.running)
            kill(server.process.pid)
        self.zygote.close()  # its workers die with it

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for server in self.all:
            server.close()
        self.zygote.close()


class ColdRunner:
    """`python -m pytest` in a new process per submission (--cold), with the same interface as ForkServers."""

    def __init__(self):
        self.running: set[subprocess.Popen] = set()
        self.stopping = False

    def grade(self, args: list[str], log: str, limit: float) -> tuple[int | None, bool]:
        """(exit status, whether it ran past limit seconds and was killed); (None, False) when stopped."""
        with open(log, "w") as output:
            process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=KIT_ROOT, stdout=output,
                                       stderr=subprocess.STDOUT, env=pytest_env(), stdin=subprocess.DEVNULL,
                                       start_new_session=True)  # a terminal's Ctrl-C reaches the grader only
            self.running.add(process)
            try:
                code, timed_out = process.wait(timeout=limit), False
            except subprocess.TimeoutExpired:
                process.kill()
                end_workers_of(process.pid)  # before reaping it, so that its pid (their user) is not reused yet
                code, timed_out = process.wait(), True
            finally:
                self.running.discard(process)
        return (None, False) if self.stopping else (code, timed_out)

    def stop(self) -> None:
        self.stopping = True
        for process in list(self.running):
            process.kill()
            end_workers_of(process.pid)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


# -- the server ---------------------------------------------------------------
def serve() -> None:
    """Import everything a grading run needs, then fork one run per request (a fork of a single-threaded
    process that has run no grading: no test, submission or worker state is inherited)."""
    requests, replies = os.dup(0), os.dup(1)  # not inherited by the grading runs
    os.dup2(2, 1)  # stray prints during imports must not reach the protocol
    die_with_parent()
    import _hypothesis_pytestplugin  # noqa: F401 - hypothesis, as pytest loads it
    import faulthandler  # noqa: F401 - pytest's own plugins
    import pdb  # noqa: F401
    import pytest

    import autograder.grading.plugin  # noqa: F401 - torch, numpy, the kit
    import autograder.models.data  # noqa: F401
    import autograder.models.training  # noqa: F401
    import autograder.reports.plots  # noqa: F401
    gc.freeze()  # the forks' collections skip what was imported (and leave its pages shared)
    incoming = os.fdopen(requests, "rb")
    _reply(replies, ready=True)
    for line in incoming:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run(pytest, request["args"], request["log"], (requests, replies))
        _reply(replies, pid=pid)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # a zombie keeps its pid until the grader says so
        _reply(replies, ended=True)
        reap = json.loads(incoming.readline() or "{}")
        if reap.get("reap") != pid:
            return
        _reply(replies, status=os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))


def _run(pytest, args: list[str], log: str, server_fds: tuple[int, int]) -> None:
    """In the fork: pytest with its output in log, then exit with its status (never returns)."""
    code = 3
    try:
        die_with_parent()
        for fd in server_fds:
            os.close(fd)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        code = int(pytest.main([*args, "-W", "ignore::pytest.PytestAssertRewriteWarning"]))  # imported above
    except BaseException:  # noqa: BLE001 - the status says it; the server must never see this fork return
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)


def _reply(fd: int, **message) -> None:
    os.write(fd, json.dumps(message).encode() + b"\n")


if __name__ == "__main__":
    serve()
