"""The worker's stdout and stderr, read in a thread and cut per call at the worker's end-of-call markers."""
from __future__ import annotations

import threading

from autograder.sandbox.protocol import OUTPUT_END


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
                text += (f"\n... ({self.dropped} more bytes of output were dropped: at most "
                         f"{self.limit >> 10} KiB of output are kept per call)")
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
