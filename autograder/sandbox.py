"""The grader's side of the sandbox: starts, limits, talks to and restarts the worker process."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from . import errors, isolation, portable, protocol, zygote
from .config import KIT_ROOT, Limits
from .capture import OutputCapture
from .worker import EXIT_PIPE_LOST, EXIT_UNSENDABLE

# Confine first (namespaces need a single-threaded process), then import torch and serve.
WORKER_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); from autograder.isolation import confine_worker; "
               "confinement = confine_worker(sys.argv[2]); from autograder.worker import main; import json; "
               "main(json.loads(sys.argv[2]), confinement)")
START_SECONDS = 120  # starting Python and importing torch; not charged to the student
PIPE_HINT = "did your code write to, close or replace the grader's pipe? Only the values your code returns count."
_slots_in_use: set[int] = set()
_slots_lock = threading.Lock()
_warned: set[str] = set()
SIGNAL_TEXT = {getattr(signal, name): text for name, text in {  # Windows lacks some of these signals
    "SIGSEGV": "crashed with a segmentation fault",
    "SIGABRT": "aborted (SIGABRT)",
    "SIGBUS": "crashed with a bus error",
    "SIGFPE": "crashed with a floating-point exception",
    "SIGXFSZ": "wrote a file larger than the file-size limit",
    "SIGKILL": "was killed (SIGKILL)",
}.items() if hasattr(signal, name)}


class Sandbox:
    """One worker process at a time for one submission, restarted after it dies or hangs."""

    def __init__(self, files: dict[str, Path], limits: Limits, device: str = "cpu"):
        self.limits, self.device = limits, device
        self.portable = isolation.portable_worker_wanted()  # a student's machine: see portable.py
        self.home = Path(tempfile.mkdtemp(prefix=isolation.home_prefix(os.getpid())))
        self.home.chmod(0o711)              # a worker of its own user reaches its scratch, lists nothing here
        self.scratch = self.home / "work"   # the submission's files; the worker's working directory
        self.scratch.mkdir()
        (self.home / "root").mkdir()        # where a confined worker mounts its own file tree
        for name, source in files.items():
            shutil.copy2(source, self.scratch / name)
        self.slot = _take_slot()
        self.uid = isolation.worker_uid(os.getpid(), self.slot)  # the worker's user when the grader is root
        self.isolation: dict = {}  # what the latest worker reported: {"level": isolation level, "reason": str}
        self._held = contextlib.ExitStack()  # at the users level: hidden tests, solutions... owner-only until close()
        self._held.enter_context(isolation.grader_files_locked(isolation.grader_only_paths(KIT_ROOT)))
        self.budget = limits.submission_seconds
        self.process: subprocess.Popen | None = None
        self.generation = 0
        self.imported: set[str] = set()
        self.fatal_imports: dict[str, errors.SandboxError] = {}
        self.last_output = ""  # what student code printed during the latest call, bounded

    # -- lifecycle -----------------------------------------------------------
    def _start(self) -> None:
        settings = {
            "scratch": str(self.scratch), "root": str(self.home / "root"), "kit_root": str(KIT_ROOT),
            "device": self.device, "uid": self.uid, "parent_pid": os.getpid(),
            "threads": self.limits.threads, "file_size_mb": self.limits.file_size_mb,
            "memory_mb": self.limits.memory_mb, "processes": self.limits.processes,
            "gpu_memory_fraction": self.limits.gpu_memory_fraction, "max_message": self.limits.message_mb << 20,
        }
        threads = {"OMP_NUM_THREADS": str(self.limits.threads), "MKL_NUM_THREADS": str(self.limits.threads)}
        if self.portable:  # their own environment, no Linux confinement
            self.process, self.requests, self.replies = portable.launch(settings, {**os.environ, **threads},
                                                                        str(KIT_ROOT), str(self.scratch))
            output = self.process.stderr
        else:
            output = self._launch_linux(settings, threads)
        self.capture = OutputCapture(output, self.limits.output_kb << 10)
        self.generation += 1
        self.imported = set()
        try:
            hello = protocol.receive(self.replies, 1 << 16, time.monotonic() + START_SECONDS)
        except (protocol.ChannelClosed, protocol.FrameTimeout, protocol.FrameTooLarge) as exc:
            output = self.capture.take(-1, wait=1.0)
            self._stop()
            raise errors.WorkerCrashed(f"the grader could not start its worker process ({type(exc).__name__}); "
                                       f"this is a problem of the grading machine, not of your code.\n{output}")
        if not (isinstance(hello, dict) and hello.get("ready")):
            self._stop()
            raise errors.ProtocolViolation("the worker process did not start properly.")
        self.isolation = dict(hello.get("isolation") or {})
        level, reason = self.isolation.get("level"), self.isolation.get("reason")
        if level != isolation.NAMESPACES and reason not in _warned and not self.portable:  # graders only
            _warned.add(reason)
            warnings.warn(f"student code runs at the sandbox level {level!r} ({reason}): "
                          f"{isolation.PROTECTS.get(level, '')}. `autograder doctor` says how to get a stronger "
                          "level.", stacklevel=2)

    def _launch_linux(self, settings: dict, threads: dict):
        """A warm fork of the zygote when there is one, else a cold worker; returns its output stream."""
        requests_read, self.requests = os.pipe()
        self.replies, replies_write = os.pipe()
        output_read, stdout_fd = os.pipe()
        settings = {**settings, "requests_fd": requests_read, "replies_fd": replies_write, "stdout_fd": stdout_fd}
        env = {"PATH": os.defpath, "HOME": str(self.scratch), "TMPDIR": str(self.scratch), "LANG": "C.UTF-8",
               "USER": "student", "LOGNAME": "student", **threads}
        if "CUDA_VISIBLE_DEVICES" in os.environ:
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        stdout = open(output_read, "rb")
        self.process = zygote.start_worker(settings, env, stdout, START_SECONDS)  # a warm fork, when there is one
        if self.process is None:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-u", "-B", "-c", WORKER_BOOT, str(KIT_ROOT), json.dumps(settings)],
                cwd=self.scratch, env=env, stdin=subprocess.DEVNULL, stdout=stdout_fd,
                stderr=subprocess.STDOUT, pass_fds=(requests_read, replies_write), start_new_session=True)
        for fd in (requests_read, replies_write, stdout_fd):
            os.close(fd)
        return stdout

    def _stop(self) -> None:
        if self.process is None:
            return
        if not self.portable and os.geteuid() == 0:  # a confined worker and everything it started run as self.uid
            isolation.end_processes(range(self.uid, self.uid + 1))
        if hasattr(os, "killpg"):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.kill()  # in case student code moved the worker out of its process group
        self.process.wait()
        for fd in (self.requests, self.replies):
            if isinstance(fd, int):  # a PipeReader closes its own pipe
                os.close(fd)
        self.process = None

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.home, ignore_errors=True)
        self._held.close()
        with _slots_lock:
            _slots_in_use.discard(self.slot)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- requests ------------------------------------------------------------
    def request(self, op: str, label: str, time_limit: float | None = None, **args):
        """Run one operation in the worker and return its decoded value.

        label names the call in student feedback, e.g. "conv_output_size(32, 5)"; time_limit replaces
        the per-call limit (for kit routines that run a whole test set).
        Raises StudentError when student code raised, SandboxError when the call could not complete.
        """
        if self.budget <= 0:
            raise errors.SubmissionTimeUp(
                f"{label} was not run: your submission used up its {self.limits.submission_seconds:g} s "
                "limit for all calls together.")
        module = args.get("target") if isinstance(args.get("target"), str) else None
        if module in self.fatal_imports:
            raise self.fatal_imports[module].with_traceback(None)  # not a traceback that grows per test
        if self.process is None:
            self._start()
        if module and module not in self.imported and op != "import":
            try:
                self.request("import", f"importing {module}.py", module=module)
            except errors.SandboxError as exc:  # every later call into this module would fail the same way
                if not isinstance(exc, (errors.MissingFile, errors.ImportFailed, errors.SubmissionTimeUp)):
                    exc = errors.ImportFailed(f"{exc} Nothing in {module}.py can be graded.")
                self.fatal_imports[module] = exc
                raise exc from None
            self.imported.add(module)
        return self._round_trip(op, label, args, time_limit or self.limits.call_seconds)

    def _round_trip(self, op: str, label: str, args: dict, call_limit: float):
        request_id = secrets.randbits(62)  # unguessable: a reply forged by student code does not match it
        limit = min(call_limit, self.budget)
        started = time.monotonic()
        try:
            protocol.send_request(self.requests, {"id": request_id, "op": op, "args": args})
            reply = protocol.receive(self.replies, self.limits.message_mb << 20, started + limit)
        except protocol.FrameTimeout as exc:
            self._spend(started)
            self._stop()
            self.last_output = self.capture.take(request_id, wait=0.2)
            if exc.partial:
                raise errors.ProtocolViolation(f"{label}: only part of a message arrived on the grader's pipe "
                                               f"within {limit:g} s; {PIPE_HINT}") from None
            if limit < call_limit:
                raise errors.SubmissionTimeUp(
                    f"{label} was stopped: your submission used up its {self.limits.submission_seconds:g} s "
                    "limit for all calls together.") from None
            raise errors.CallTimeout(f"{label} did not finish within {limit:g} s (the time limit per call); "
                                     "look for an infinite loop or very slow code.") from None
        except (protocol.ChannelClosed, BrokenPipeError):
            self._spend(started)
            raise self._died(label, request_id) from None
        except protocol.FrameTooLarge as exc:  # the worker never sends one: the header was forged or garbage
            self._spend(started)
            self._stop()
            raise errors.ProtocolViolation(f"{label}: a message on the grader's pipe announced {exc}, which the "
                                           f"worker never sends; {PIPE_HINT}") from None
        except Exception as exc:  # a frame that is not a valid message: garbage or forged data on the pipe
            self._spend(started)
            self._stop()
            raise errors.ProtocolViolation(f"{label}: the worker's reply was not a valid message "
                                           f"({type(exc).__name__}); {PIPE_HINT}") from None
        self._spend(started)
        self.last_output = self.capture.take(request_id)
        if not isinstance(reply, dict) or reply.get("id") != request_id:
            self._stop()
            raise errors.ProtocolViolation(f"{label}: a message on the grader's pipe did not answer this call; "
                                           f"{PIPE_HINT}")
        if reply.get("ok"):
            return reply.get("value")
        raise self._failure(label, reply.get("error") or {})

    def _spend(self, started: float) -> None:
        self.budget -= time.monotonic() - started

    def _died(self, label: str, request_id: int) -> errors.SandboxError:
        process = self.process
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.last_output = self.capture.take(request_id, wait=0.5)
        code = process.returncode
        self._stop()
        if code is None or code == EXIT_PIPE_LOST:
            return errors.ProtocolViolation(f"{label}: the worker lost its pipe to the grader; {PIPE_HINT}")
        if code == EXIT_UNSENDABLE:
            return errors.WorkerCrashed(f"{label}: the worker could not send any answer back, because your code "
                                        "replaced parts of Python or torch it needs (e.g. a builtin or torch.save); "
                                        "do not monkeypatch them.")
        if code < 0:
            what = SIGNAL_TEXT.get(-code, f"was killed by signal {signal.Signals(-code).name}")
            if -code == getattr(signal, "SIGXFSZ", None):
                what += f" ({self.limits.file_size_mb} MiB)"
            return errors.WorkerCrashed(f"{label}: the process running your code {what}.")
        return errors.WorkerCrashed(f"{label}: your code ended the process (exit status {code}, e.g. sys.exit, "
                                    "os._exit or exit()); do not exit, return the result.")

    def _failure(self, label: str, error: dict) -> BaseException:
        kind, message = error.get("kind"), str(error.get("message", ""))
        if kind == "missing_file":
            return errors.MissingFile(f"{message}.py was not found in your submission: add a file named "
                                      f"{message}.py (any folder of the submission will do).")
        if kind == "forbidden":
            used = json.loads(message)
            names = ", ".join(f"{name} ({count}x)" for name, count in sorted(used.items()))
            return errors.ForbiddenCall(f"{label} used {names}, which this exercise asks you not to use; "
                                        "write it with basic tensor operations instead.")
        if kind == "exit":
            return errors.WorkerCrashed(f"{label}: your code tried to end the process ({message}); "
                                        "do not exit, return the result.")
        first_line = message.splitlines()[0] if message else ""
        if kind == "memory" and getattr(self, "device", "cpu") == "cuda":
            return errors.MemoryLimitExceeded(
                f"{label} exceeded its share of GPU memory ({self.limits.gpu_memory_fraction:.0%} of the GPU) "
                f"({first_line or 'out of memory'}).")
        if kind == "memory":
            return errors.MemoryLimitExceeded(f"{label} exceeded the {self.limits.memory_mb} MiB memory limit "
                                              f"({first_line or 'MemoryError'}).")
        if kind == "file_size":
            return errors.FileSizeLimitExceeded(f"{label} exceeded the {self.limits.file_size_mb} MiB file-size "
                                                f"limit ({first_line}).")
        if kind == "processes":
            return errors.ProcessLimitExceeded(f"{label} exceeded the limit of {self.limits.processes} processes "
                                               f"and threads ({first_line}); do not start processes.")
        if kind == "unsendable":
            return errors.ProtocolViolation(f"{label} returned {message}.")
        if kind == "too_large":
            return errors.ProtocolViolation(f"{label} returned {message}, more than the "
                                            f"{self.limits.message_mb} MiB limit.")
        mro = [str(n) for n in error.get("mro", [])] or ["Exception"]
        if mro[0] == "ModuleNotFoundError":
            message += ("; only the Python standard library, torch, torchvision and numpy can be imported "
                        "when grading")
        if label.startswith("importing "):
            return errors.ImportFailed(f"{label} failed with {mro[0]}: {message}\n{error.get('traceback', '')}")
        return errors.student_error(label, mro, message, str(error.get("traceback", "")))


def _take_slot() -> int:
    with _slots_lock:
        free = next((slot for slot in range(isolation.SLOTS) if slot not in _slots_in_use), None)
        if free is None:
            raise RuntimeError(f"more than {isolation.SLOTS} sandboxes open at once in one grading process")
        _slots_in_use.add(free)
        return free
