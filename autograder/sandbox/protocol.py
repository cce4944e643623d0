"""The grader-worker wire: length-prefixed frames. Replies (worker to grader) are torch.save frames read back
with weights_only=True; requests (grader to worker) are plain pickles, read only by the worker, which trusts
the grader (and is where student code runs anyway): five times cheaper, and the grader never unpickles them."""
from __future__ import annotations

import io
import os
import pickle
import select
import struct
import time

import torch

# What the worker writes besides frames: the end of a call's output on stdout, and its exit statuses.
OUTPUT_END = b"\0autograder-output-end:%d\0"
EXIT_PIPE_LOST = 86    # the worker cannot read requests or send replies: student code closed or replaced the pipe
EXIT_UNSENDABLE = 87   # the worker cannot encode even an error reply: student code broke Python or torch

HEADER = struct.Struct("<Q")
HANDLE_KEY = "__autograder_handle__"
SCALARS = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)


class ChannelClosed(Exception):
    """The other end closed the pipe (the worker died or exited)."""


class FrameTooLarge(Exception):
    """A frame is larger than the configured message limit."""


class Unsendable(Exception):
    """A value that cannot cross the wire by value (e.g. a tensor on the meta device, which has no data)."""


class FrameTimeout(Exception):
    """No complete frame arrived before the deadline; `partial` when part of one did."""

    def __init__(self, partial: bool = False):
        super().__init__("an incomplete frame" if partial else "no frame")
        self.partial = partial


def encode(message) -> bytes:
    buffer = io.BytesIO()
    torch.save(message, buffer)
    return buffer.getvalue()


def decode(data: bytes):
    """Rebuild a frame. weights_only=True admits tensors and plain containers, never arbitrary objects."""
    return torch.load(io.BytesIO(data), weights_only=True, map_location=None)


def send_request(fd: int, message) -> None:
    """Grader to worker only."""
    send_frame(fd, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def send_frame(fd: int, data: bytes) -> None:
    """Write one encoded message, with its length header, in as few writes as the pipe allows."""
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def receive(fd: int, max_bytes: int, deadline: float | None = None, decode=decode):
    """Read one frame from fd; raise FrameTimeout, FrameTooLarge or ChannelClosed. The grader reads replies
    with the default decode (weights_only); only the worker passes decode_request."""
    (length,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if length > max_bytes:
        raise FrameTooLarge(f"{length} bytes")
    return decode(_read_exactly(fd, length, deadline, started=True))


def decode_request(data: bytes):
    """In the worker only: a request the grader wrote with send_request."""
    return pickle.loads(data)


def _read_exactly(fd, count: int, deadline: float | None, started: bool = False) -> bytes:
    """count bytes from fd, a file descriptor or a portable.PipeReader (which waits in its own way)."""
    if not isinstance(fd, int):
        return fd.read_exactly(count, deadline, started)
    chunks, remaining = [], count
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise FrameTimeout(partial=started or remaining < count)
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def handle_marker(handle_id: int, type_name: str, text: str = "") -> dict:
    """Stands for an object kept on the other side: its handle, type name and a short repr."""
    return {HANDLE_KEY: handle_id, "type": type_name, "repr": text}


def is_handle_marker(value) -> bool:
    return type(value) is dict and HANDLE_KEY in value


def to_wire(value, keep, depth: int = 0):
    """Turn a value into what can cross the wire.

    Plain values, plain containers and tensors cross by value (tensors detached, as plain
    torch.Tensor); anything else is kept on this side by `keep(obj) -> marker` and sent as a marker.
    """
    if isinstance(value, SCALARS) and type(value) in SCALARS:
        return value
    if isinstance(value, torch.Tensor):
        check_sendable(value)
        with torch._C.DisableTorchFunctionSubclass():
            return value.detach().as_subclass(torch.Tensor).clone()
    if depth < 64:
        if isinstance(value, (list, tuple)) and type(value) is not str:
            items = [to_wire(item, keep, depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, dict) and HANDLE_KEY not in value and all(type(k) in (str, int) for k in value):
            return {k: to_wire(v, keep, depth + 1) for k, v in value.items()}
    return keep(value)


def check_sendable(tensor: torch.Tensor) -> None:
    """Raise Unsendable for a tensor that has no values to send."""
    if tensor.device.type == "meta":
        raise Unsendable("a tensor on the meta device, which holds no values; return a tensor on the device of "
                         "the input")


def from_wire(value, resolve):
    """Replace the markers inside a received value by `resolve(marker)`."""
    if is_handle_marker(value):
        return resolve(value)
    if type(value) in (list, tuple):
        return type(value)(from_wire(item, resolve) for item in value)
    if type(value) is dict:
        return {k: from_wire(v, resolve) for k, v in value.items()}
    return value
