"""Confines a worker as far as the machine allows: the three levels, how to tell which one holds, and each step."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import json
import os
import platform
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
FIRST_WORKER_UID = 1 << 30  # far above any real account; uid = FIRST_WORKER_UID + grader pid * SLOTS + slot
SLOTS = 64                  # sandboxes one grading process may have open at once



@functools.cache
def _libc():
    """The C library, loaded on first use (Linux only: the portable worker never gets here)."""
    return ctypes.CDLL(None, use_errno=True)

KIT_ENGINE = Path(__file__).resolve().parents[1]  # the autograder/ package: workers import it

# -- confinement levels ------------------------------------------------------------------
NAMESPACES, USERS, NONE = "namespaces", "users", "none"
PROTECTS = {
    NAMESPACES: "a private file tree (hidden tests, solutions, grading.yml, other submissions and results do not "
                "exist for student code), no network, a user of its own with a process limit",
    USERS: "a user of its own with a process limit; the grader's files (hidden tests, solutions, grading.yml, "
           "other submissions, results) are locked by file permissions while grading; the network stays open",
    NONE: "time, memory, file-size and output limits only: student code runs as the grader's user and can read "
          "what it can (hidden tests included), use the network and start processes freely",
}
NAMESPACE_PROBE = ("import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
                   f"sys.exit(0 if libc.unshare({CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC}) == 0 and libc.mount("
                   f"None, b'/', None, {MS_REC | MS_PRIVATE}, None) == 0 else ctypes.get_errno())")


@dataclass(frozen=True)
class Level:
    """How far workers are confined on this machine, why, and what would give a stronger level."""
    name: str                      # NAMESPACES, USERS or NONE
    reason: str                    # why this machine gives this level
    fix: str = ""                  # what to change for a stronger level ("" at the strongest)
    problems: tuple[str, ...] = ()  # what keeps this level from working as it should, with the fix

    def describe(self) -> str:
        """One line for a terminal or a log: the level, what it protects and why."""
        return f"sandbox level: {self.name} ({self.reason}): {PROTECTS[self.name]}"


PORTABLE_ENV = "AUTOGRADER_WORKER"  # "portable": use the portable worker on Linux too (the kit's tests do)


def portable_worker_wanted() -> bool:
    """Whether workers here are portable (portable.py): asked for, or a platform without the Linux worker's pieces
    (macOS, Windows)."""
    if os.environ.get(PORTABLE_ENV) == "portable" or sys.platform != "linux":
        return True
    pieces = (hasattr(os, "fork"), hasattr(os, "setsid"), hasattr(os, "killpg"),
              importlib.util.find_spec("resource") is not None, os.path.exists("/proc/self/status"))
    return not all(pieces)


@functools.cache
def detect_level() -> Level:
    """The level workers get on this machine (probed once per process, in a child process)."""
    if portable_worker_wanted():
        where = (f"asked for with {PORTABLE_ENV}=portable" if os.environ.get(PORTABLE_ENV) == "portable" else
                 platform.system() if sys.platform != "linux" else "this Python lacks resource, fork or /proc")
        return Level(NONE, f"the portable worker ({where}): time and output limits only",
                     "grade on Linux as root (a VM or a container) for a stronger level")
    if os.geteuid() != 0:
        return Level(NONE, f"the grader runs as an ordinary user (uid {os.geteuid()}), not root",
                     "run the grader as root (sudo, or root in a container) for the users level; as root with "
                     "CAP_SYS_ADMIN for the namespaces level")
    probe = subprocess.run([sys.executable, "-I", "-S", "-c", NAMESPACE_PROBE], capture_output=True, timeout=60)
    if probe.returncode != 0:
        return Level(USERS, f"root, but Linux namespaces are refused ({os.strerror(probe.returncode)}; "
                            "as in Docker without --privileged, and on Gradescope)",
                     "for the namespaces level, run the container with --cap-add SYS_ADMIN --security-opt "
                     "seccomp=unconfined --security-opt apparmor=unconfined (or --privileged); Gradescope's "
                     "containers cannot", tuple(f"{path} ({stat.filemode(path.stat().st_mode)}) keeps student code "
                                               f"from importing Python modules: run `chmod {mode} {path}`"
                                               for path, mode in unreadable_for_workers()))
    return Level(NAMESPACES, "root with the right to create Linux namespaces")


def unreadable_for_workers() -> list[tuple[Path, str]]:
    """Folders that keep a worker's own user from the Python environment or the kit's engine, each with the
    chmod that opens them (o+x to pass through a folder above, o+rx for the folder itself)."""
    blocked = {}
    for path in [*python_dirs(KIT_ENGINE.parent, Path(tempfile.gettempdir())), KIT_ENGINE]:
        for above in reversed(path.parents):
            if not above.stat().st_mode & stat.S_IXOTH:
                blocked.setdefault(above, "o+x")
        if path.stat().st_mode & (stat.S_IROTH | stat.S_IXOTH) != stat.S_IROTH | stat.S_IXOTH:
            blocked[path] = "o+rx"
    return sorted(blocked.items())


def worker_uid(grader_pid: int, slot: int) -> int:
    """The unprivileged user a worker of this grading process runs as: unique while the grader lives."""
    return FIRST_WORKER_UID + grader_pid * SLOTS + slot


def confine_worker(settings: str) -> dict:
    """confine() with the worker's settings (JSON from the grader); called before torch is imported."""
    settings = json.loads(settings)
    return confine(Path(settings["root"]), Path(settings["scratch"]), Path(settings["kit_root"]),
                   settings["file_size_mb"])


def confine(root: Path, scratch: Path, kit_root: Path, tmp_mb: int) -> dict:
    """Confine this worker as far as the machine allows; return {"level": ..., "reason": ...}.

    As root with namespaces: new mount, network and IPC namespaces and a chroot into `root`, a tree showing
    only the system, Python, the kit's engine and the scratch folder. As root without them: nothing here (the
    worker still becomes a user of its own). Never raises. Must run before the process starts threads."""
    if os.geteuid() != 0:
        return {"level": NONE, "reason": "the grader does not run as root"}
    try:
        _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    except OSError as exc:
        return {"level": USERS, "reason": f"Linux namespaces are not available ({exc.strerror})"}
    try:
        _mount(None, "/", flags=MS_REC | MS_PRIVATE)  # nothing mounted from here on reaches the host
        _build_tree(root, scratch, kit_root, tmp_mb)
        os.chroot(root)
        os.chdir(scratch)
    except OSError as exc:
        return {"level": USERS, "reason": f"the worker's file tree could not be built ({exc})"}
    return {"level": NAMESPACES, "reason": ""}


def drop_privileges(uid: int, scratch: Path) -> None:
    """Become `uid` for good (no groups, no capabilities, no way back through setuid programs), owning the
    scratch folder and the submission's files in it, which no other worker may enter."""
    for folder, _, files in os.walk(scratch):
        for path in (folder, *(os.path.join(folder, name) for name in files)):
            os.lchown(path, uid, uid)
    os.chmod(scratch, 0o700)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")


# -- the grader's files at the users level ---------------------------------------------------
_locked: dict[str, list] = {}  # path -> [mode before locking, how many holders]
_locked_guard = threading.Lock()


def grader_only_paths() -> list[Path]:
    """The kit's entries a worker must not read: all but the engine and the Python environment."""
    kit_root = KIT_ENGINE.parent
    needed = [KIT_ENGINE, *python_dirs(kit_root, Path(tempfile.gettempdir()))]
    return sorted(entry for entry in kit_root.iterdir()
                  if not any(entry == n or entry in n.parents or n in entry.parents for n in needed))


@contextlib.contextmanager
def grader_files_locked(also: tuple[Path, ...] = ()):
    """At the users level, make the kit's grader-only entries and these files and folders (results, submissions)
    readable by their owner only while grading (a worker's own user is never their owner), then give them back
    their modes. Nested and repeated holders share a lock. At other levels: nothing, not even the listing."""
    paths = [*grader_only_paths(), *also] if detect_level().name == USERS else []
    held = [str(p) for p in paths if p.exists() and not p.is_symlink()]
    with _locked_guard:
        for path in held:
            if path not in _locked:
                mode = stat.S_IMODE(os.stat(path).st_mode)
                _locked[path] = [mode, 0]
                os.chmod(path, mode & ~0o077)
            _locked[path][1] += 1
    try:
        yield
    finally:
        with _locked_guard:
            for path in held:
                _locked[path][1] -= 1
                if _locked[path][1] == 0:
                    with contextlib.suppress(OSError):
                        os.chmod(path, _locked.pop(path)[0])


def die_with_parent(parent: int | None = None) -> None:
    """Let the kernel kill this process when the grader dies (set after any change of user). parent: the pid
    that started it; if that one died before this call (a batch killed as it began), end now, not never."""
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(0)


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
    """Where the interpreter, its standard library and the installed packages live (never the kit root).

    From the interpreter's own settings, not sys.path: in a grader, pytest adds the kit's test folders there."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)), *sysconfig.get_paths().values(),
                  *site.getsitepackages()}
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
    _check(_libc().mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


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
