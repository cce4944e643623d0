"""The worker: runs student code in its own process and answers the grader over a pipe."""
from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import reprlib
import signal
import sys
import time
import traceback
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from autograder.sandbox import harness
from autograder.sandbox import isolation
from autograder.sandbox import protocol
from autograder.sandbox.protocol import EXIT_PIPE_LOST, EXIT_UNSENDABLE, OUTPUT_END



class BanWatch(TorchFunctionMode):
    """Records which forbidden torch functions run while it is active."""

    def __init__(self, forbidden):
        super().__init__()
        self.forbidden, self.used = set(forbidden), {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "").split(".")[0]  # torch.ops overloads: "conv2d.default"
        if name in self.forbidden:
            self.used[name] = self.used.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


class Worker:
    def __init__(self, scratch: Path, max_message: int, process_limit: int | None = None):
        self.scratch, self.max_message = scratch, max_message
        self.process_limit = process_limit  # set when the worker runs as its own user (RLIMIT_NPROC binds)
        self.handles: dict[int, object] = {}
        self.modules: dict[str, object] = {}
        self.pid = os.getpid()

    # -- values ------------------------------------------------------------
    def keep(self, obj) -> dict:
        handle_id = id(obj)
        self.handles[handle_id] = obj
        kind = type(obj)
        try:
            text = reprlib.repr(obj)
        except Exception:  # noqa: BLE001 - a student __repr__ may fail
            text = f"<{kind.__qualname__}>"
        return protocol.handle_marker(handle_id, f"{kind.__module__}.{kind.__qualname__}", text)

    def resolve(self, marker: dict):
        return self.handles[marker[protocol.HANDLE_KEY]]

    # -- operations --------------------------------------------------------
    def op_import(self, module: str):
        self.module(module)

    def op_call(self, target, attr, args, kwargs, forbidden=(), grad_output=None):
        """Call a student function (or object); with grad_output, also backpropagate it.

        Returns the result, or with grad_output {"output": result, "grads": {position or keyword:
        gradient of every floating-point tensor argument, None where the result does not depend on it}}.
        """
        obj = self.module(target) if isinstance(target, str) else self.handles[target]
        if isinstance(target, str) and not hasattr(obj, attr):
            raise AttributeError(f"{target}.py defines no {attr!r}; keep the names used in the template")
        function = getattr(obj, attr) if attr else obj
        args, kwargs = protocol.from_wire((args, kwargs), self.resolve)
        inputs = {}
        if grad_output is not None:
            named = [*enumerate(args), *kwargs.items()]
            inputs = {key: value.requires_grad_() for key, value in named
                      if isinstance(value, torch.Tensor) and value.is_floating_point()}
        with BanWatch(forbidden) if forbidden else contextlib.nullcontext() as watch:
            result = function(*args, **kwargs)
        if watch is not None and watch.used:
            raise _Forbidden(watch.used)
        if grad_output is None:
            return result
        return {"output": result, "grads": gradients(result, inputs, grad_output)}

    def op_getattr(self, target, attr):
        obj = self.module(target) if isinstance(target, str) else self.handles[target]
        return getattr(obj, attr)

    def op_harness(self, name, args, kwargs):
        if name not in harness.__all__:
            raise AttributeError(f"the kit's harness has no routine {name!r}")
        args, kwargs = protocol.from_wire((args, kwargs), self.resolve)
        return getattr(harness, name)(*args, **kwargs)

    def op_release(self, handle_ids):
        for handle_id in handle_ids:
            self.handles.pop(handle_id, None)

    def module(self, name: str):
        if name not in self.modules:
            if not (self.scratch / f"{name}.py").exists():
                raise _MissingFile(name)
            self.modules[name] = importlib.import_module(name)
        return self.modules[name]

    # -- loop --------------------------------------------------------------
    def serve(self, requests: int, replies: int, confinement: dict) -> None:
        _send_or_exit(replies, protocol.encode({"ready": True, "pid": os.getpid(), "isolation": confinement}))
        while True:
            try:
                request = protocol.receive(requests, self.max_message, decode=protocol.decode_request)
            except protocol.ChannelClosed:
                return
            except OSError:  # student code closed or replaced the request pipe
                os._exit(EXIT_PIPE_LOST)
            reply = {"id": request["id"]}
            try:
                value = getattr(self, f"op_{request['op']}")(**request["args"])
                reply.update(ok=True, value=protocol.to_wire(value, self.keep))
            except BaseException as exc:  # noqa: BLE001 - every student failure becomes a reply
                reply.update(ok=False, error=describe(exc, self.scratch, self.process_limit))
            if os.getpid() != self.pid:  # a copy of this process made by student code's fork: never answer
                os._exit(0)
            if self.process_limit is not None:
                end_stray_processes()
            _flush_output(request["id"])
            _send_or_exit(replies, self.encode_reply(reply))

    def encode_reply(self, reply: dict) -> bytes:
        """The reply as a frame; an error reply when it is too large or cannot be encoded."""
        try:
            data = protocol.encode(reply)
            if len(data) <= self.max_message:
                return data
            error = {"kind": "too_large", "mro": [], "message": f"{len(data) >> 20} MiB", "traceback": ""}
        except BaseException as exc:  # noqa: BLE001 - e.g. a student's tensor subclass that cannot be saved
            error = {"kind": "unsendable", "mro": [], "traceback": "", "message": (
                f"a value that torch.save cannot save ({type(exc).__name__}: {exc})"[:500]
                + "; return tensors, numbers, strings or plain lists, tuples and dicts")}
        try:
            return protocol.encode({"id": reply["id"], "ok": False, "error": error})
        except BaseException:  # noqa: BLE001 - student code broke torch.save or builtins themselves
            os._exit(EXIT_UNSENDABLE)


def _send_or_exit(fd: int, data: bytes) -> None:
    try:
        protocol.send_frame(fd, data)
    except OSError:  # student code closed or replaced the reply pipe
        os._exit(EXIT_PIPE_LOST)


def end_stray_processes() -> None:
    """Kill every process the call left behind (all run as this worker's own user) and reap them."""
    if 0 in os.getresuid():  # never as root: kill(-1) would reach the whole machine
        return
    try:
        os.kill(-1, signal.SIGKILL)  # every process of this user except this one
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 1.0
    with contextlib.suppress(ChildProcessError):  # reap them: zombies still count against the process limit
        while time.monotonic() < deadline:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.005)


def gradients(result, inputs: dict, grad_output) -> dict:
    """d(result . grad_output) / d(input) for each input, computed by autograd through student code."""
    if not isinstance(result, torch.Tensor):
        raise TypeError(f"the result should be a tensor, got {type(result).__name__}")
    protocol.check_sendable(result)  # e.g. a meta tensor: say so before backpropagating
    if result.shape != grad_output.shape:
        raise ValueError(f"the result has shape {tuple(result.shape)}, but it should have shape "
                         f"{tuple(grad_output.shape)}")
    if not result.requires_grad:
        raise RuntimeError("the result is not connected to the inputs by autograd, so no gradient can flow "
                           "back; use torch operations only (no .detach(), .item(), .numpy() or new tensors "
                           "built from Python numbers)")
    # the gradient of result . grad_output: bit for bit what grad_outputs=grad_output gives, without the
    # first-call import of sympy that grad_outputs costs (a second)
    grads = torch.autograd.grad((result * grad_output).sum(), list(inputs.values()), allow_unused=True)
    return dict(zip(inputs, grads))


class _MissingFile(Exception):
    pass


class _Forbidden(Exception):
    pass


def describe(exc: BaseException, scratch: Path, process_limit: int | None = None) -> dict:
    """A student-facing description of an exception, with only the student's frames."""
    if isinstance(exc, _MissingFile):
        return {"kind": "missing_file", "mro": [], "message": str(exc.args[0]), "traceback": ""}
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return {"kind": "exit", "mro": [], "message": f"{type(exc).__name__}({exc})", "traceback": ""}
    if isinstance(exc, protocol.Unsendable):
        return {"kind": "unsendable", "mro": [], "message": str(exc), "traceback": ""}
    if isinstance(exc, _Forbidden):
        return {"kind": "forbidden", "mro": [], "message": json.dumps(exc.args[0]), "traceback": ""}
    text = str(exc) if isinstance(exc, Exception) else ""
    kind = "exception"
    if isinstance(exc, MemoryError) or any(s in text for s in ("can't allocate memory", "bad_alloc", "out of memory")):
        kind = "memory"
    elif isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        kind = "file_size"
    elif process_limit is not None and _failed_to_start_a_process(exc):
        kind = "processes"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(str(scratch))]
    for frame in frames:
        frame.filename = os.path.relpath(frame.filename, scratch)
    lines = "".join(traceback.format_list(frames[-5:]))
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(str(scratch)):
        lines += f'  File "{os.path.relpath(exc.filename, scratch)}", line {exc.lineno}\n    {(exc.text or "").strip()}\n'
    try:
        message = str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - a student __str__ may itself fail
        message = "<the exception's message could not be shown>"
    return {"kind": kind, "mro": [k.__name__ for k in type(exc).__mro__], "message": message, "traceback": lines}


def _failed_to_start_a_process(exc: BaseException) -> bool:
    """A fork, spawn or thread start refused (EAGAIN) because the worker's user is at its process limit."""
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return True
    if not (isinstance(exc, OSError) and exc.errno == errno.EAGAIN) or exc.__traceback__ is None:
        return False
    innermost = traceback.extract_tb(exc.__traceback__)[-1]  # EAGAIN also comes from non-blocking I/O
    return Path(innermost.filename).name in ("subprocess.py", "popen_fork.py") or "fork" in (innermost.line or "")


def _flush_output(request_id: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a student may have closed or replaced the stream
            pass
    try:
        os.write(1, OUTPUT_END % request_id)
    except OSError:  # the student closed stdout; nothing more of theirs can be captured
        pass


def apply_limits(memory_mb: int | None, file_size_mb: int, processes: int | None) -> None:
    """Limit the worker: no core dumps, bounded files, (on CPU) bounded address space, (as its own user)
    a bounded number of processes and threads. Linux only."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    size = file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    if memory_mb is not None:
        with open("/proc/self/status") as status:
            used_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = (used_kb << 10) + (memory_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def limit_gpu_memory(fraction: float) -> None:
    """On CUDA the address-space limit would break the driver; cap the caching allocator instead."""
    torch.cuda.set_per_process_memory_fraction(fraction)
    torch.empty(1, device="cuda")  # create the context now, while the driver's files are still readable


def main(settings: dict, confinement: dict | None = None, portable: bool = False) -> None:
    """Serve one sandbox: settings as the grader sent them, confinement as isolation.confine reported it.
    portable: the portable worker (portable.py), which uses nothing that only Linux has."""
    confinement = confinement or {"level": isolation.NONE, "reason": "the worker was started without isolation"}
    if settings["device"] == "auto":  # started before the grader chose (launch.start_early): as it chooses
        settings = {**settings, "device": "cuda" if torch.cuda.is_available() else "cpu"}
    requests, replies = settings["requests_fd"], settings["replies_fd"]
    scratch = Path(settings["scratch"])
    os.chdir(scratch)
    sys.path.insert(0, str(scratch))
    torch.set_num_threads(settings["threads"])
    if settings["device"] == "cuda":
        limit_gpu_memory(settings["gpu_memory_fraction"])
    own_user = confinement["level"] != isolation.NONE  # the grader is root: the worker becomes a user of its own
    processes = settings["processes"] if own_user else None
    memory_mb = settings["memory_mb"] if settings["device"] == "cpu" else None  # CUDA reserves a huge range
    if portable:  # memory and file limits where the platform has them (Linux asked for this worker)
        with contextlib.suppress(ImportError, OSError, ValueError):
            apply_limits(memory_mb, settings["file_size_mb"], None)
    else:
        apply_limits(memory_mb, settings["file_size_mb"], processes)
        if own_user:
            isolation.drop_privileges(settings["uid"], scratch)
        isolation.die_with_parent()
        if os.getppid() != settings["parent_pid"]:  # its parent died before the line above: no one will ask
            os._exit(0)
    Worker(scratch, settings["max_message"], processes).serve(requests, replies, confinement)


if __name__ == "__main__":
    main(json.loads(sys.argv[2]))
