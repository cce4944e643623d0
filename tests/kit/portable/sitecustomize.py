"""Makes this Python look like macOS or Windows to the kit: no `resource` module, no os.fork, os.setsid or
os.killpg, no C library to call prctl/unshare/mount through, no /proc. Loaded through PYTHONPATH."""
import builtins
import ctypes
import os
import sys

sys.modules["resource"] = None  # `import resource` raises ImportError
for name in ("fork", "forkpty", "setsid", "killpg"):
    if hasattr(os, name):
        delattr(os, name)

_load_library = ctypes.CDLL


def _library(name, *args, **kwargs):
    if name is None:  # the process's own C library: prctl, unshare, mount
        raise OSError("simulated platform without Linux's C library calls")
    return _load_library(name, *args, **kwargs)


ctypes.CDLL = _library


def _no_proc(function):
    def guarded(path, *args, **kwargs):
        where = os.fspath(path) if not isinstance(path, int) else ""
        if (where.decode(errors="replace") if isinstance(where, bytes) else where).startswith("/proc"):
            raise FileNotFoundError(2, "simulated platform without /proc", path)
        return function(path, *args, **kwargs)
    return guarded


builtins.open = _no_proc(builtins.open)
for name in ("stat", "lstat", "listdir", "scandir", "open"):
    setattr(os, name, _no_proc(getattr(os, name)))
