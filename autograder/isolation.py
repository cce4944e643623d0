"""Confines a worker when the grader runs as root: a private file tree, no network, a user of its own."""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
FIRST_WORKER_UID = 1 << 30  # far above any real account; uid = FIRST_WORKER_UID + grader pid * SLOTS + slot
SLOTS = 64                  # sandboxes one grading process may have open at once

_libc = ctypes.CDLL(None, use_errno=True)


def worker_uid(grader_pid: int, slot: int) -> int:
    """The unprivileged user a worker of this grading process runs as: unique while the grader lives."""
    return FIRST_WORKER_UID + grader_pid * SLOTS + slot


def confine_worker(settings: str) -> dict:
    """confine() with the worker's settings (JSON from the grader); called before torch is imported."""
    settings = json.loads(settings)
    return confine(Path(settings["root"]), Path(settings["scratch"]), Path(settings["kit_root"]),
                   settings["file_size_mb"])


def confine(root: Path, scratch: Path, kit_root: Path, tmp_mb: int) -> dict:
    """Enter new mount, network and IPC namespaces and chroot into `root`, a tree showing only the system,
    Python, the kit's engine and the scratch folder. Never raises: returns what holds, with the reason
    when it could not be done. Must run before the process starts threads (before torch is imported)."""
    if os.geteuid() != 0:
        return {"confined": False, "reason": "the grader does not run as root"}
    try:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    except OSError as exc:
        return {"confined": False, "reason": f"Linux namespaces are not available ({exc.strerror})"}
    try:
        _mount(None, "/", flags=MS_REC | MS_PRIVATE)  # nothing mounted from here on reaches the host
        _build_tree(root, scratch, kit_root, tmp_mb)
        os.chroot(root)
        os.chdir(scratch)
    except OSError as exc:
        return {"confined": False, "reason": f"the worker's file tree could not be built ({exc})"}
    return {"confined": True, "reason": ""}


def drop_privileges(uid: int, scratch: Path) -> None:
    """Become `uid` for good (no groups, no capabilities, no way back through setuid programs)."""
    os.chown(scratch, uid, uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")


def die_with_parent() -> None:
    """Let the kernel kill this process when the grader dies (set after any change of user)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def end_processes(uids: range) -> int:
    """Kill every live process whose real user is in uids (repeated until none is left); return how many."""
    ended = 0
    for _ in range(100):
        found = processes_of(uids)
        if not found:
            break
        ended += sum(kill(pid) for pid in found)
    return ended


def kill(pid: int) -> bool:
    """SIGKILL pid; False when there was no such process any more."""
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def end_workers_of(grader_pid: int) -> int:
    """Kill every process of every worker a stopped grading process started (as root), and remove the
    folders its sandboxes left; return how many processes were killed."""
    first = worker_uid(grader_pid, 0)
    ended = end_processes(range(first, first + SLOTS))
    for home in Path(tempfile.gettempdir()).glob(f"{home_prefix(grader_pid)}*"):
        shutil.rmtree(home, ignore_errors=True)
    return ended


def home_prefix(grader_pid: int) -> str:
    """How the temporary folders of a grading process's sandboxes are named (see end_workers_of)."""
    return f"autograder-{grader_pid}-"


def processes_of(uids: range) -> list[int]:
    """The live processes (not zombies) whose real user is in uids."""
    return [pid for pid, uid in _process_users() if uid in uids]


# -- the worker's file tree ---------------------------------------------------------
def _build_tree(root: Path, scratch: Path, kit_root: Path, tmp_mb: int) -> None:
    os.umask(0o022)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    for name in SYSTEM_DIRS:
        host = Path("/", name)
        if host.is_symlink():
            (root / name).symlink_to(os.readlink(host))
        elif host.is_dir():
            _bind(host, root, read_only=True)
    _bind(Path("/dev"), root, recursive=False, nodev=False)
    _bind(Path("/proc"), root, recursive=False)
    _bind(Path("/sys"), root, recursive=False, read_only=True)
    for place in ("tmp", "dev/shm"):  # before the binds below: a venv or a kit under /tmp stays visible
        (root / place).mkdir(exist_ok=True)
        _mount("tmpfs", root / place, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmp_mb}m")
    for path in python_dirs(kit_root, scratch.parent):
        _bind(path, root, read_only=True)
    _bind(kit_root / "autograder", root, read_only=True)
    _bind(scratch, root, recursive=False)


def python_dirs(kit_root: Path, home: Path) -> list[Path]:
    """Where the interpreter, its standard library and the installed packages live (never the kit root)."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)), *sys.path}
    found = set()
    for candidate in candidates:
        if candidate and os.path.isdir(candidate):
            for path in {Path(os.path.abspath(candidate)), Path(os.path.realpath(candidate))}:
                hides_secrets = any(p == path or path in p.parents for p in (kit_root, home))
                if not hides_secrets:
                    found.add(path)
    return sorted(p for p in found if not any(q in p.parents for q in found))


def _bind(source: Path, root: Path, read_only=False, recursive=True, nodev=True) -> None:
    target = root / source.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    _mount(source, target, flags=MS_BIND | (MS_REC if recursive else 0))
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (MS_NODEV if nodev else 0) | (MS_RDONLY if read_only else 0)
    _mount(None, target, flags=flags)


def _mount(source, target, fstype=None, flags=0, data=None) -> None:
    encode = (lambda v: None if v is None else os.fsencode(v))
    _check(_libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _process_users():
    """(pid, real uid) of every live process (not zombies); /proc/<pid> itself belongs to root once a
    process changed user, so the owner is read from its status."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = dict(line.split(":", 1) for line in Path(entry.path, "status").read_text().splitlines())
                if not fields["State"].strip().startswith(("Z", "X")):
                    yield int(entry.name), int(fields["Uid"].split()[0])
            except (OSError, KeyError, ValueError):  # it ended meanwhile
                pass
