"""Proxies that let tests call student code in the worker as if it were local."""
from __future__ import annotations

import torch

from autograder.sandbox import errors
from autograder.sandbox import harness
from autograder.sandbox import protocol
from autograder.sandbox.supervisor import Sandbox


def short_repr(value, limit: int = 120) -> str:
    """A compact, student-readable repr: tensors by shape and dtype, long values cut."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        if value.numel() <= 6:
            return f"tensor({value.tolist()}, dtype={dtype})"
        return f"tensor(shape={tuple(value.shape)}, dtype={dtype})"
    if isinstance(value, RemoteObject):
        return f"<{value.remote_type.rsplit('.', 1)[-1]}>"
    if isinstance(value, (list, tuple)) and value and any(isinstance(v, (torch.Tensor, RemoteObject)) for v in value):
        inner = ", ".join(short_repr(v, limit) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def call_label(name: str, args: tuple, kwargs: dict) -> str:
    parts = [short_repr(a) for a in args] + [f"{k}={short_repr(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class RemoteObject:
    """An object that stays in the worker (a module, an optimizer, a numpy value...)."""

    def __init__(self, sandbox: Sandbox, handle_id: int, remote_type: str, remote_repr: str, generation: int,
                 label: str, forbidden: tuple[str, ...] = ()):
        self._sandbox, self._handle, self._generation = sandbox, handle_id, generation
        self.remote_type, self.remote_repr, self._label = remote_type, remote_repr, label
        self._forbidden = forbidden

    def forbidding(self, *names: str) -> "RemoteObject":
        """The same object, whose calls fail if they use one of these torch functions (by name)."""
        return RemoteObject(self._sandbox, self._handle, self.remote_type, self.remote_repr, self._generation,
                            self._label, self._forbidden + names)

    def _target(self) -> int:
        if self._generation != self._sandbox.generation:
            raise errors.StaleObject(f"{self._label} was lost when the worker process restarted after an "
                                     "earlier failure.")
        return self._handle

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        label = f"{self._label}.{name}"
        return decode(self._sandbox, self._sandbox.request("getattr", label, target=self._target(), attr=name), label)

    def __call__(self, *args, **kwargs):
        return invoke(self._sandbox, self._label, dict(target=self._target(), attr=None), args, kwargs,
                      self._forbidden)

    def gradients(self, *args, grad_output, **kwargs):
        """Call it and backpropagate grad_output: (output, {argument position or name: gradient})."""
        return invoke(self._sandbox, self._label, dict(target=self._target(), attr=None), args, kwargs,
                      self._forbidden, grad_output)

    def __repr__(self) -> str:
        return self.remote_repr or f"<{self.remote_type}>"


def invoke(sandbox: Sandbox, name: str, where: dict, args: tuple, kwargs: dict, forbidden=(), grad_output=None):
    """One call into the worker; with grad_output, returns (output, gradients) instead of the output."""
    label = call_label(name, args, kwargs)
    extra = {"forbidden": list(forbidden)} if forbidden else {}
    if grad_output is not None:
        extra["grad_output"] = grad_output
    value = decode(sandbox, sandbox.request("call", label, **where, args=encode(args), kwargs=encode(kwargs),
                                            **extra), label)
    return (value["output"], value["grads"]) if grad_output is not None else value


class StudentFunction:
    """A function of a student module; calling it runs it in the worker."""

    def __init__(self, sandbox: Sandbox, module: str, name: str, forbidden: tuple[str, ...] = ()):
        self._sandbox, self.module, self.name, self.forbidden = sandbox, module, name, forbidden

    def forbidding(self, *names: str) -> "StudentFunction":
        """The same function, failing any call that uses one of these torch functions (by name)."""
        return StudentFunction(self._sandbox, self.module, self.name, self.forbidden + names)

    def __call__(self, *args, **kwargs):
        return invoke(self._sandbox, self.name, dict(target=self.module, attr=self.name), args, kwargs,
                      self.forbidden)

    def gradients(self, *args, grad_output, **kwargs):
        """Call it and backpropagate grad_output through the student's code.

        Returns (output, grads): grads maps each floating-point tensor argument (by position, or by
        name for keyword arguments) to its gradient, None where the output does not depend on it.
        """
        return invoke(self._sandbox, self.name, dict(target=self.module, attr=self.name), args, kwargs,
                      self.forbidden, grad_output)

    def __repr__(self) -> str:
        return f"<student function {self.module}.{self.name}>"


class StudentModule:
    def __init__(self, sandbox: Sandbox, name: str):
        self._sandbox, self._name = sandbox, name

    def __getattr__(self, name: str) -> StudentFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return StudentFunction(self._sandbox, self._name, name)

    def __repr__(self) -> str:
        return f"<student module {self._name}>"


class Harness:
    """Kit routines (autograder/sandbox/harness.py) run in the worker, next to the student's objects."""

    def __init__(self, sandbox: Sandbox):
        self._sandbox = sandbox

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def run(*args, **kwargs):
            label = call_label(name, args, kwargs)
            seconds = self._sandbox.limits.predict_seconds if name in harness.LONG_RUNNING else None
            value = self._sandbox.request("harness", label, time_limit=seconds, name=name, args=encode(args),
                                          kwargs=encode(kwargs))
            return decode(self._sandbox, value, label)
        return run


class Student:
    """The `student` fixture: `student.q8_output_size.conv_output_size(...)`, `student.harness.build_layers(...)`."""

    def __init__(self, sandbox: Sandbox, refused: dict[str, str] | None = None):
        self.sandbox = sandbox
        self.harness = Harness(sandbox)
        self.refused = refused or {}  # submitted files the grader would not load, with the reason
        for filename, reason in self.refused.items():
            if filename.endswith(".py"):  # every call into that module fails with the reason, not "not found"
                sandbox.fatal_imports[filename.removesuffix(".py")] = errors.MissingFile(reason)

    def __getattr__(self, name: str) -> StudentModule:
        if name.startswith("_"):
            raise AttributeError(name)
        return StudentModule(self.sandbox, name)

    def __repr__(self) -> str:
        return "student"


def encode(value):
    """Arguments for the worker: plain values by value, proxies by handle."""
    def refuse(obj):
        if isinstance(obj, StudentFunction):  # e.g. passed to a harness routine: send the worker's own object
            obj = decode(obj._sandbox, obj._sandbox.request("getattr", repr(obj), target=obj.module,
                                                             attr=obj.name), obj.name)
        if isinstance(obj, RemoteObject):
            return protocol.handle_marker(obj._target(), obj.remote_type)
        raise TypeError(f"cannot send a {type(obj).__name__} to student code; build it with a harness routine")
    return protocol.to_wire(value, refuse)


def decode(sandbox: Sandbox, value, label: str):
    """A reply from the worker, its markers turned into RemoteObjects."""
    generation = sandbox.generation

    def resolve(marker: dict) -> RemoteObject:
        return RemoteObject(sandbox, marker[protocol.HANDLE_KEY], str(marker.get("type")),
                            str(marker.get("repr", ""))[:200], generation, f"the value returned by {label}")
    return protocol.from_wire(value, resolve)
