"""The portable worker: student code in a child process, with only what macOS, Windows and Linux all have.

No fork, no namespaces, no user of its own: a child started afresh, spoken to over its stdin and stdout
pipes (its own prints go to its stderr pipe), a time limit per call that the grader enforces by ending the
child, bounded output, memory and file limits only where the platform has them. Students' machines use it
(isolation.portable_worker_wanted says when); Linux graders keep the confined worker (sandbox.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from autograder.sandbox.isolation import NONE, detect_level

BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from autograder.sandbox.portable import serve; serve(sys.argv[2])"


def launch(settings: dict, env: dict, kit_root: str, cwd: str) -> tuple[subprocess.Popen, int, PipeReader]:
    """Start a portable worker: (the process, the fd to write requests to, the reader of its replies).
    The process's stderr carries what student code prints."""
    process = subprocess.Popen([sys.executable, "-u", "-B", "-c", BOOT, kit_root, json.dumps(settings)],
                               cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=hasattr(os, "setsid"))
    requests, replies = os.dup(process.stdin.fileno()), os.dup(process.stdout.fileno())  # ours to close
    process.stdin.close()
    process.stdout.close()
    return process, requests, PipeReader(replies)


def serve(settings: str) -> None:
    """In the child: keep stdin and stdout for the grader, send every print to stderr, serve requests."""
    requests, replies = os.dup(0), os.dup(1)
    os.dup2(2, 1)  # student code's prints (Python's and C's) join stderr, the grader's output capture
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    from autograder.sandbox.worker import main
    level = {"level": NONE, "reason": detect_level().reason}
    main({**json.loads(settings), "requests_fd": requests, "replies_fd": replies}, level, portable=True)


class PipeReader:
    """A pipe read by a thread, so that a read can wait with a deadline where select() cannot wait on a pipe
    (Windows). receive() takes one in place of a file descriptor. The thread closes the pipe at its end."""

    def __init__(self, fd: int):
        self.fd, self.buffer, self.closed = fd, bytearray(), False
        self.changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except OSError:  # closed under us
                chunk = b""
            with self.changed:
                self.buffer += chunk
                self.closed = not chunk
                self.changed.notify_all()
            if not chunk:
                os.close(self.fd)
                return

    def read_exactly(self, count: int, deadline: float | None, started: bool) -> bytes:
        from autograder.sandbox.protocol import ChannelClosed, FrameTimeout  # protocol brings torch: not before the grader needs it

        with self.changed:
            while len(self.buffer) < count:
                if self.closed:
                    raise ChannelClosed()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise FrameTimeout(partial=started or bool(self.buffer))
                self.changed.wait(left)
            data = bytes(self.buffer[:count])
            del self.buffer[:count]
            return data
