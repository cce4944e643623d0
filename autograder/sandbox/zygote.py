"""Warm workers: a fresh process that imports torch once and forks one sandbox worker per request.

The zygote is exec'd by the batch grader before any grading, with a scrubbed environment: it never holds
a test, an expected value or another submission. A grading process that finds its socket (environment
variable ZYGOTE_ENV) sends a worker's settings, environment and pipe ends over it (SCM_RIGHTS); the fork
then does what a cold worker does: its own session, confinement (a fork is single-threaded), limits, its
own user. The zygote is the worker's parent: it reports the worker's exit status over the connection
and keeps the pid (as a zombie) until the grader hangs up, so a kill by pid never reaches another process.
A worker dies with the zygote (PDEATHSIG); the zygote kills a worker whose grader hung up.
"""
from __future__ import annotations

import array
import gc
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.sandbox import isolation

ZYGOTE_ENV = "AUTOGRADER_ZYGOTE"
BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); from autograder.sandbox.zygote import serve; "
        "serve(int(sys.argv[2]), int(sys.argv[3]))")
MAX_MESSAGE = 1 << 16


class Zygote:
    """The batch grader's zygote; grading processes reach it through ZYGOTE_ENV=self.path in their environment."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="autograder-zygote-")  # 0700: workers, as other users, cannot enter
        self.path = os.path.join(self.folder, "socket")
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"}
        if "CUDA_VISIBLE_DEVICES" in os.environ:
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:  # listening at once: no start-up race
            listener.bind(self.path)
            listener.listen(64)
            self.process = subprocess.Popen([sys.executable, "-I", "-u", "-B", "-c", BOOT,
                                             str(Path(__file__).parents[2]), str(listener.fileno()), str(os.getpid())],
                                            cwd="/", env=env, stdin=subprocess.DEVNULL, pass_fds=[listener.fileno()],
                                            start_new_session=True)  # a terminal's Ctrl-C reaches the grader only

    def close(self) -> None:
        self.process.kill()  # its workers die with it (PDEATHSIG)
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class ForkedWorker:
    """A worker forked by the zygote, with the parts of subprocess.Popen that the Sandbox uses."""

    def __init__(self, connection: socket.socket, stdout, start_seconds: float):
        self.connection, self.stdout, self.buffer = connection, stdout, b""
        self.returncode: int | None = None
        reply = self._reply(start_seconds)
        if reply is None or "pid" not in reply:
            self.connection.close()
            raise OSError("the zygote did not start a worker")
        self.pid = int(reply["pid"])

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            reply = self._reply(timeout)
            # no status: the zygote itself died, and the worker with it (PDEATHSIG)
            self.returncode = int(reply["status"]) if reply else -signal.SIGKILL
            self.connection.close()  # the zygote may now reap the worker and release its pid
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:  # the worker, or its zombie, still holds its pid
            isolation.kill(self.pid)

    def _reply(self, timeout: float | None) -> dict | None:
        """The zygote's next line; None when it hung up; TimeoutExpired after timeout seconds."""
        while b"\n" not in self.buffer:
            if not select.select([self.connection], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("worker", timeout)
            chunk = self.connection.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def start_worker(settings: dict, env: dict, stdout, start_seconds: float) -> ForkedWorker | None:
    """Ask the zygote named in the environment for a worker; None when there is none to ask (start it cold).

    stdout: the read end of the worker's output pipe (its write end is settings["stdout_fd"])."""
    path = os.environ.get(ZYGOTE_ENV)
    if not path:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        fds = [settings["requests_fd"], settings["replies_fd"], settings["stdout_fd"]]
        connection.sendmsg([json.dumps({"settings": settings, "env": env}).encode()],
                           [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        return ForkedWorker(connection, stdout, start_seconds)
    except (OSError, subprocess.TimeoutExpired):  # no zygote (it ended, or never started): start cold
        connection.close()
        return None


# -- the zygote ------------------------------------------------------------------
def serve(listener_fd: int, parent: int) -> None:
    listener = socket.socket(fileno=listener_fd)  # early requests wait in its backlog while torch is imported
    isolation.die_with_parent(parent)
    from autograder.sandbox import worker  # noqa: F401 - torch, numpy and the harness, imported once for every worker
    gc.freeze()  # the workers' collections skip what was imported (and leave its pages shared)
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wakeup_write)
    children: dict[socket.socket, int] = {}  # connection -> worker pid, until the grader hangs up
    reported: set[int] = set()
    while True:
        ready = select.select([listener, wakeup_read, *children], [], [])[0]
        if wakeup_read in ready:
            os.read(wakeup_read, 4096)
        for connection, pid in list(children.items()):
            status = None if pid in reported else _exit_status(pid)
            if status is not None:
                reported.add(pid)
                _send_json(connection, {"status": status})
            if connection in ready and _hung_up(connection):  # the grader hung up (after wait, or it died)
                _end(pid)
                reported.discard(pid)
                connection.close()
                del children[connection]
        if listener in ready:
            connection, _ = listener.accept()
            pid = _fork_worker(connection)
            if pid is not None:
                children[connection] = pid


def _fork_worker(connection: socket.socket) -> int | None:
    message, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        connection.close()
        return None
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        _become_worker(request, fds)
    for fd in fds:
        os.close(fd)
    _send_json(connection, {"pid": pid})
    return pid


def _become_worker(request: dict, fds: list[int]) -> None:
    """In the fork: what WORKER_BOOT does in a cold worker, with this request's pipes and environment."""
    code = 0
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        requests, replies, stdout = fds
        for fd in map(int, os.listdir("/proc/self/fd")):  # the zygote's socket, other workers' connections
            if fd not in (0, 1, 2, *fds):
                try:
                    os.close(fd)
                except OSError:  # the descriptor listdir itself used
                    pass
        os.dup2(stdout, 1)
        os.dup2(stdout, 2)
        os.close(stdout)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.setsid()
        settings = dict(request["settings"], requests_fd=requests, replies_fd=replies, stdout_fd=1,
                        parent_pid=os.getppid())  # the zygote
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(settings["scratch"])
        sys.argv = ["-c", settings["kit_root"], json.dumps(settings)]  # what a cold worker's code sees
        from autograder.sandbox import worker
        confinement = isolation.confine(Path(settings["root"]), Path(settings["scratch"]),
                                        Path(settings["kit_root"]), settings["file_size_mb"])
        worker.main(settings, confinement)
    except BaseException:  # noqa: BLE001 - never return into the zygote's loop
        code = 70
    os._exit(code)


def _exit_status(pid: int) -> int | None:
    """The worker's exit status once it ended, leaving it a zombie (its pid stays taken)."""
    result = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if result is None:
        return None
    return -result.si_status if result.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else result.si_status


def _end(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    os.waitpid(pid, 0)


def _hung_up(connection: socket.socket) -> bool:
    """Whether the grader closed its end: an empty read, or a reset when it was killed (never a crash of the
    zygote, which would take the workers of every other submission with it)."""
    try:
        return not connection.recv(1)
    except OSError:
        return True


def _send_json(connection: socket.socket, message: dict) -> None:
    try:
        connection.sendall(json.dumps(message).encode() + b"\n")
    except OSError:  # the grader is gone; its hang-up is handled in the loop
        pass
