"""The grader's side of the sandbox: starts, limits, talks to and restarts the worker process."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import errors, protocol
from .config import KIT_ROOT, Limits
from .worker import OUTPUT_END

WORKER_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from autograder.worker import main; main()"
START_SECONDS = 120  # starting Python and importing torch; not charged to the student
SIGNAL_TEXT = {
    signal.SIGSEGV: "crashed with a segmentation fault",
    signal.SIGABRT: "aborted (SIGABRT)",
    signal.SIGBUS: "crashed with a bus error",
    signal.SIGFPE: "crashed with a floating-point exception",
    signal.SIGXFSZ: "wrote a file larger than the file-size limit",
    signal.SIGKILL: "was killed (SIGKILL)",
}


class OutputCapture:
    """Reads the worker's merged stdout/stderr in a thread, keeping a bounded amount per call."""

    def __init__(self, stream, limit_bytes: int):
        self.stream, self.limit = stream, limit_bytes
        self.kept, self.dropped = bytearray(), 0
        self.seen_ends: set[int] = set()
        self.lock, self.changed = threading.Lock(), threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        tail = b""
        while chunk := self.stream.read1(1 << 16):
            data = tail + chunk
            with self.changed:
                for marker_id in _markers_in(data):
                    self.seen_ends.add(marker_id)
                text = _strip_markers(chunk)
                room = max(0, self.limit - len(self.kept))
                self.kept += text[:room]
                self.dropped += max(0, len(text) - room)
                self.changed.notify_all()
            tail = data[-40:]
        with self.changed:
            self.seen_ends.add(-1)  # end of stream
            self.changed.notify_all()

    def take(self, request_id: int, wait: float = 1.0) -> str:
        """Everything printed up to the end of call request_id (waits briefly for it to arrive)."""
        with self.changed:
            self.changed.wait_for(lambda: request_id in self.seen_ends or -1 in self.seen_ends, wait)
            text = self.kept.decode("utf-8", "replace")
            if self.dropped:
                text += f"\n... ({self.dropped} more bytes of output were dropped)"
            self.kept, self.dropped = bytearray(), 0
            return text


def _markers_in(data: bytes):
    start = 0
    prefix = OUTPUT_END.split(b"%d")[0]
    while (at := data.find(prefix, start)) >= 0:
        end = data.find(b"\0", at + len(prefix))
        if end < 0:
            return
        digits = data[at + len(prefix):end]
        if digits.isdigit():
            yield int(digits)
        start = end + 1


def _strip_markers(chunk: bytes) -> bytes:
    prefix = OUTPUT_END.split(b"%d")[0]
    while (at := chunk.find(prefix)) >= 0:
        end = chunk.find(b"\0", at + len(prefix))
        chunk = chunk[:at] + (chunk[end + 1:] if end >= 0 else b"")
    return chunk


class Sandbox:
    """One worker process at a time for one submission, restarted after it dies or hangs."""

    def __init__(self, files: dict[str, Path], limits: Limits, device: str = "cpu"):
        self.limits, self.device = limits, device
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-scratch-"))
        for name, source in files.items():
            shutil.copy2(source, self.scratch / name)
        self.budget = limits.submission_seconds
        self.process: subprocess.Popen | None = None
        self.generation = 0
        self.next_id = 0
        self.imported: set[str] = set()
        self.fatal_imports: dict[str, errors.SandboxError] = {}
        self.last_output = ""  # what student code printed during the latest call, bounded

    # -- lifecycle -----------------------------------------------------------
    def _start(self) -> None:
        requests_read, self.requests = os.pipe()
        self.replies, replies_write = os.pipe()
        settings = {
            "scratch": str(self.scratch), "requests_fd": requests_read, "replies_fd": replies_write,
            "threads": self.limits.threads, "file_size_mb": self.limits.file_size_mb,
            "memory_mb": self.limits.memory_mb if self.device == "cpu" else None,
            "max_message": self.limits.message_mb << 20,
        }
        env = {"PATH": os.defpath, "HOME": str(self.scratch), "TMPDIR": str(self.scratch), "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": str(self.limits.threads), "MKL_NUM_THREADS": str(self.limits.threads)}
        if "CUDA_VISIBLE_DEVICES" in os.environ:
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-u", "-B", "-c", WORKER_BOOT, str(KIT_ROOT), json.dumps(settings)],
            cwd=self.scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, pass_fds=(requests_read, replies_write), start_new_session=True)
        os.close(requests_read)
        os.close(replies_write)
        self.capture = OutputCapture(self.process.stdout, self.limits.output_kb << 10)
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

    def _stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for fd in (self.requests, self.replies):
            os.close(fd)
        self.process = None

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

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
            raise self.fatal_imports[module]
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
        self.next_id += 1
        request_id = self.next_id
        limit = min(call_limit, self.budget)
        started = time.monotonic()
        try:
            protocol.send(self.requests, {"id": request_id, "op": op, "args": args})
            reply = protocol.receive(self.replies, self.limits.message_mb << 20, started + limit)
        except protocol.FrameTimeout:
            self._spend(started)
            self._stop()
            self.last_output = self.capture.take(request_id, wait=0.2)
            if limit < call_limit:
                raise errors.SubmissionTimeUp(
                    f"{label} was stopped: your submission used up its {self.limits.submission_seconds:g} s "
                    "limit for all calls together.") from None
            raise errors.CallTimeout(f"{label} did not finish within {limit:g} s (the time limit per call); "
                                     "look for an infinite loop or very slow code.") from None
        except (protocol.ChannelClosed, BrokenPipeError):
            self._spend(started)
            raise self._died(label, request_id) from None
        except protocol.FrameTooLarge as exc:
            self._spend(started)
            self._stop()
            raise errors.ProtocolViolation(f"{label} sent back {exc}, more than the "
                                           f"{self.limits.message_mb} MiB limit.") from None
        except Exception as exc:  # a frame that is not a valid message: garbage or forged data on the pipe
            self._spend(started)
            self._stop()
            raise errors.ProtocolViolation(f"{label}: the worker's reply was not a valid message "
                                           f"({type(exc).__name__}); did your code write to the grader's pipe?") from None
        self._spend(started)
        self.last_output = self.capture.take(request_id)
        if not isinstance(reply, dict) or reply.get("id") != request_id:
            self._stop()
            raise errors.ProtocolViolation(f"{label}: the worker answered out of turn; "
                                           "did your code write to the grader's pipe?")
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
        if code is None:
            return errors.ProtocolViolation(f"{label}: your code closed the grader's pipe.")
        if code < 0:
            what = SIGNAL_TEXT.get(-code, f"was killed by signal {signal.Signals(-code).name}")
            if -code == signal.SIGXFSZ:
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
        if kind == "memory":
            return errors.MemoryLimitExceeded(f"{label} exceeded the {self.limits.memory_mb} MiB memory limit "
                                              f"({message.splitlines()[0] if message else 'MemoryError'}).")
        if kind == "too_large":
            return errors.ProtocolViolation(f"{label} returned {message}, more than the "
                                            f"{self.limits.message_mb} MiB limit.")
        mro = [str(n) for n in error.get("mro", [])] or ["Exception"]
        if label.startswith("importing "):
            return errors.ImportFailed(f"{label} failed with {mro[0]}: {message}\n{error.get('traceback', '')}")
        return errors.student_error(label, mro, message, str(error.get("traceback", "")))
