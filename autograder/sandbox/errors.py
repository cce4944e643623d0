"""What a test sees when a call into student code does not return normally."""
from __future__ import annotations

import builtins


class StudentError(Exception):
    """Student code raised an exception; the test may expect it (e.g. ValueError on bad input).

    The raised object is also an instance of the student's builtin exception type, so
    `pytest.raises(ValueError)` works on a call through the sandbox; NotImplementedError is the
    exception: a stub's error never counts as the RuntimeError a test may expect.
    """

    def __init__(self, call: str, remote_type: str, message: str, traceback: str = ""):
        self.call, self.remote_type, self.message, self.traceback = call, remote_type, message, traceback
        text = f"{call} raised {remote_type}: {message}" if message else f"{call} raised {remote_type}"
        super().__init__(text + (f"\n{traceback}" if traceback else ""))


_student_error_types: dict[str, type] = {}


def student_error(call: str, mro: list[str], message: str, traceback: str = "") -> StudentError:
    """A StudentError that also subclasses the first builtin exception in the student type's MRO."""
    builtin = next((getattr(builtins, name) for name in mro
                    if isinstance(getattr(builtins, name, None), type)
                    and issubclass(getattr(builtins, name), Exception)), Exception)
    if issubclass(builtin, NotImplementedError):  # a stub's "not implemented" must never pass for an
        builtin = Exception                       # expected RuntimeError (its builtin base class)
    if builtin not in (Exception, StudentError):
        kind = _student_error_types.get(builtin.__name__)
        if kind is None:
            try:
                kind = type(f"Student{builtin.__name__}", (StudentError, builtin), {})
            except TypeError:  # incompatible layouts: keep the plain StudentError
                kind = StudentError
            _student_error_types[builtin.__name__] = kind
    else:
        kind = StudentError
    error = kind.__new__(kind)
    StudentError.__init__(error, call, mro[0] if mro else "Exception", message, traceback)
    return error


class SandboxError(BaseException):
    """The call could not complete (time limit, crash, exit, missing file, ban, protocol).

    A BaseException on purpose: Hypothesis does not shrink it (each retry could cost a whole
    time limit); pytest still reports the test as failed with this message.
    """


class CallTimeout(SandboxError):
    pass


class SubmissionTimeUp(SandboxError):
    pass


class WorkerCrashed(SandboxError):
    pass


class MissingFile(SandboxError):
    pass


class ImportFailed(SandboxError):
    pass


class ForbiddenCall(SandboxError):
    pass


class ProtocolViolation(SandboxError):
    pass


class StaleObject(SandboxError):
    pass


class MemoryLimitExceeded(SandboxError):
    pass


class FileSizeLimitExceeded(SandboxError):
    pass


class ProcessLimitExceeded(SandboxError):
    pass
