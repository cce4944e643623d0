"""The grader's side of the sandbox: starts, limits, talks to and restarts the worker process."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import warnings
from pathlib import Path

from autograder.sandbox import errors
from autograder.sandbox import isolation
from autograder.sandbox import launch
from autograder.sandbox import protocol
from autograder.course.config import Limits
from autograder.sandbox.capture import OutputCapture
from autograder.sandbox.launch import START_SECONDS
from autograder.sandbox.protocol import EXIT_PIPE_LOST, EXIT_UNSENDABLE

PIPE_HINT = "did your code write to, close or replace the grader's pipe? Only the values your code returns count."
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
        early = launch.take_early(limits, device)  # a student's run started its worker before importing torch
        self.folders = early[0] if early else launch.WorkerHome()
        self.home, self.scratch, self.uid = self.folders.path, self.folders.scratch, self.folders.uid
        for name, source in files.items():
            shutil.copy2(source, self.scratch / name)
        self.isolation: dict = {}  # what the latest worker reported: {"level": isolation level, "reason": str}
        self._held = contextlib.ExitStack()  # at the users level: hidden tests, solutions... owner-only until close()
        self._held.enter_context(isolation.grader_files_locked())
        self.budget = limits.submission_seconds
        self.process = None  # a subprocess.Popen, or the zygote's fork (zygote.ForkedWorker)
        self.generation = 0
        self.imported: set[str] = set()
        self.fatal_imports: dict[str, errors.SandboxError] = {}
        self.last_output = ""  # what student code printed during the latest call, bounded
        self.greeted = True     # whether the current worker's first message was read
        if early:
            self._take(early[1])

    # -- lifecycle -----------------------------------------------------------
    def _start(self) -> None:
        self._take(launch.launch(self.folders, self.limits, self.device, self.portable))
        self._greet()

    def _take(self, launched: launch.Launched) -> None:
        self.process, self.requests, self.replies = launched.process, launched.requests, launched.replies
        self.capture = OutputCapture(launched.output, self.limits.output_kb << 10)
        self.generation += 1
        self.imported = set()
        self.greeted = False

    def _greet(self) -> None:
        """Read the worker's first message: that it is ready, and how far it is confined."""
        self.greeted = True
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
                          "level.", stacklevel=3)

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
        self.folders.remove()
        self._held.close()

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
        elif not self.greeted:  # started early (launch.start_early): its hello waits in the pipe
            self._greet()
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
