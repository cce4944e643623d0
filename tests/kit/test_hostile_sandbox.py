"""Hostile code straight through a Sandbox: checkpoints, stray processes, the worker's user, GPU memory."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from autograder.sandbox import errors
from autograder.sandbox import isolation
from autograder.course.config import KIT_ROOT, Limits, load_config
from autograder.sandbox.proxy import Student
from autograder.grading.plugin import oversize_checkpoints
from autograder.sandbox.supervisor import Sandbox
from hostile.processes import running, state_of, workers_of

pytestmark = pytest.mark.slow

HOSTILE = KIT_ROOT / "tests" / "kit" / "hostile"
AS_ROOT = os.geteuid() == 0
ROOT_ONLY = "needs a grader running as root (the worker's own user and Linux namespaces)"


class Payload:
    """Unpickling this runs code: it writes a marker file into the current folder."""

    def __reduce__(self):
        return exec, ("open('unpickled_code_ran', 'w').write('yes')",)


def load_tiny_model():
    spec = importlib.util.spec_from_file_location("tiny_model", HOSTILE / "checkpoints" / "tiny_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoint_sandbox(tmp_path_factory):
    """A sandbox holding the tiny model and checkpoints made here: good, malicious, truncated, of another model."""
    folder = tmp_path_factory.mktemp("checkpoints")
    tiny = load_tiny_model()
    torch.manual_seed(0)
    good = tiny.TinyNet().state_dict()
    torch.save(good, folder / "good.pt")
    torch.save(Payload(), folder / "malicious.pt")
    data = (folder / "good.pt").read_bytes()
    (folder / "truncated.pt").write_bytes(data[:len(data) // 2])
    torch.save(tiny.OtherNet().state_dict(), folder / "other_model.pt")
    files = {"tiny_model.py": HOSTILE / "checkpoints" / "tiny_model.py",
             **{name: folder / name for name in ("good.pt", "malicious.pt", "truncated.pt", "other_model.pt")}}
    with Sandbox(files, Limits(call_seconds=20), "cpu") as sandbox:
        yield Student(sandbox), sandbox, tiny.TinyNet, good


IMAGES = torch.linspace(-1, 1, 5 * 12).reshape(5, 3, 2, 2)


def predict(checkpoint_sandbox, filename):
    student = checkpoint_sandbox[0]
    return student.harness.predict_from_checkpoint(student.tiny_model.TinyNet(), filename, IMAGES, device="cpu")


def test_a_fitting_checkpoint_predicts_what_the_model_computes(checkpoint_sandbox):
    _, _, tiny_net, good = checkpoint_sandbox
    model = tiny_net()
    model.load_state_dict(good)
    torch.testing.assert_close(predict(checkpoint_sandbox, "good.pt"), model(IMAGES).detach())


def test_a_malicious_pickle_is_refused_and_never_runs(checkpoint_sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.load(checkpoint_sandbox[1].scratch / "malicious.pt", weights_only=False)  # the payload is real:
    assert (tmp_path / "unpickled_code_ran").exists()                                # unpickling runs it
    with pytest.raises(ValueError, match=r"malicious.pt was refused: .*arbitrary code.*"
                                         r"torch.save\(model.state_dict\(\), 'malicious.pt'\)"):
        predict(checkpoint_sandbox, "malicious.pt")
    assert not (checkpoint_sandbox[1].scratch / "unpickled_code_ran").exists()


@pytest.mark.parametrize("filename, message", [
    ("truncated.pt", r"truncated.pt could not be read \(.*\); the file is damaged or not a torch checkpoint"),
    ("other_model.pt", r"other_model.pt does not fit your TinyNet: missing keys: fc.weight, fc.bias; unexpected "
                       r"keys: conv.weight, conv.bias, head.weight, head.bias"),
])
def test_a_damaged_or_foreign_checkpoint_is_explained(checkpoint_sandbox, filename, message):
    with pytest.raises(ValueError, match=message):
        predict(checkpoint_sandbox, filename)


def test_a_multi_gigabyte_checkpoint_is_not_copied_to_the_worker(tmp_path):
    huge = tmp_path / "lenet.pt"
    with open(huge, "wb") as sparse:
        sparse.truncate(3 << 30)  # 3 GiB that take no disk space
    refused = oversize_checkpoints({"lenet.pt": huge}, load_config())
    assert refused == {"lenet.pt": "lenet.pt is 3072 MiB, more than the 200 MiB limit for a checkpoint; it was "
                                   "not loaded. Submit the state_dict only: torch.save(model.state_dict(), ...)."}


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    with Sandbox({"hostile_probe.py": HOSTILE / "sandbox" / "hostile_probe.py"}, Limits(call_seconds=2),
                 "cpu") as sandbox:
        yield Student(sandbox).hostile_probe, sandbox


@pytest.mark.skipif(not AS_ROOT, reason=ROOT_ONLY)
def test_a_root_grader_runs_student_code_as_an_unprivileged_user_that_sees_no_hidden_tests(probe):
    functions, sandbox = probe
    assert functions.identity() == {"uid": sandbox.uid, "euid": sandbox.uid, "sees_hidden_tests": False}
    assert sandbox.isolation == {"level": isolation.NAMESPACES, "reason": ""}
    assert (KIT_ROOT / "assignments" / "q8_output_size" / "test_hidden.py").is_file()


@pytest.mark.skipif(not AS_ROOT, reason=ROOT_ONLY)
def test_processes_a_call_leaves_behind_end_with_the_call(probe):
    functions, sandbox = probe
    sleeper = functions.detached_sleeper()
    assert not running(sleeper)
    with pytest.raises(errors.CallTimeout):
        functions.detached_sleeper_then_hang("sleeper.pid")
    sleeper = int((sandbox.scratch / "sleeper.pid").read_text())
    assert not running(sleeper)
    assert isolation.processes_of(range(sandbox.uid, sandbox.uid + 1)) == []  # the hung worker is gone too


def test_half_a_frame_on_the_pipe_is_a_protocol_violation_not_a_hang(probe):
    functions, _ = probe
    with pytest.raises(errors.ProtocolViolation, match=r"write_half_a_frame\(\): only part of a message arrived "
                                                       r"on the grader's pipe within 2 s; did your code write to"):
        functions.write_half_a_frame()
    assert functions.identity()["sees_hidden_tests"] == (not AS_ROOT)  # the next call gets a fresh worker


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_memory_is_bounded_by_a_share_of_the_gpu(tmp_path):
    with Sandbox({"hostile_probe.py": HOSTILE / "sandbox" / "hostile_probe.py"},
                 Limits(call_seconds=60, gpu_memory_fraction=0.05), "cuda") as sandbox:
        with pytest.raises(errors.MemoryLimitExceeded, match=r"exceeded its share of GPU memory \(5% of the GPU\)"):
            Student(sandbox).hostile_probe.hog_gpu_memory()
        assert Student(sandbox).hostile_probe.identity()["sees_hidden_tests"] == (not AS_ROOT)  # still answers


@pytest.mark.skipif(not AS_ROOT, reason=ROOT_ONLY)
def test_the_workers_of_a_killed_grader_are_ended_even_if_they_defuse_the_kernels_kill():
    """What grade_one does when it stops a grader: kill it, then end every worker it started."""
    script = ("import sys; from pathlib import Path; from autograder.course.config import Limits; "
              "from autograder.sandbox.proxy import Student; from autograder.sandbox.supervisor import Sandbox; "
              "sandbox = Sandbox({'outlives.py': Path(sys.argv[1])}, Limits(call_seconds=120), 'cpu'); "
              "Student(sandbox).outlives.f()")
    grader = subprocess.Popen([sys.executable, "-c", script, str(HOSTILE / "sandbox" / "outlives_its_grader.py")],
                              cwd=KIT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, spinning = time.monotonic() + 90, 0
        while spinning < 3 and time.monotonic() < deadline:  # its import (defusing PR_SET_PDEATHSIG) runs
            time.sleep(0.3)
            workers = workers_of({grader.pid})
            spinning = spinning + 1 if workers and all(state_of(pid) == "R" for pid in workers) else 0
        assert spinning == 3, "the grader's worker never started its import"
        grader.kill()
        time.sleep(0.5)
        assert workers_of({grader.pid}) == workers, "the worker died with its grader: nothing left to prove"
        isolation.end_workers_of(grader.pid)
        assert workers_of({grader.pid}) == set()
        assert not list(Path(tempfile.gettempdir()).glob(f"{isolation.home_prefix(grader.pid)}*"))
    finally:
        grader.kill()
        grader.wait()
        isolation.end_workers_of(grader.pid)


@pytest.mark.skipif(not AS_ROOT or not shutil.which("setpriv"), reason="needs root and util-linux's setpriv")
def test_without_namespaces_the_worker_still_becomes_its_own_user_and_the_grader_says_so():
    """Root without CAP_SYS_ADMIN (a default Docker container, Gradescope): the users level. The worker drops to a
    user of its own, the kit's hidden tests are out of its reach while the sandbox is open, and the grader warns."""
    script = ("import os, sys, warnings; from pathlib import Path; from autograder.course.config import KIT_ROOT, Limits; "
              "from autograder.sandbox.proxy import Student; from autograder.sandbox.supervisor import Sandbox; "
              "warnings.simplefilter('always'); "
              "sandbox = Sandbox({'hostile_probe.py': Path(sys.argv[1])}, Limits(), 'cpu'); "
              "print(Student(sandbox).hostile_probe.identity(), sandbox.uid, sandbox.isolation); "
              "locked = oct(os.stat(KIT_ROOT / 'assignments').st_mode & 0o777); sandbox.close(); "
              "print(locked, oct(os.stat(KIT_ROOT / 'assignments').st_mode & 0o777))")
    before = oct(os.stat(KIT_ROOT / "assignments").st_mode & 0o777)
    done = subprocess.run(["setpriv", "--bounding-set=-sys_admin", "--", sys.executable, "-c", script,
                           str(HOSTILE / "sandbox" / "hostile_probe.py")],
                          cwd=KIT_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    identity, locked = done.stdout.strip().splitlines()
    uid = int(identity.split("} ")[1].split()[0])
    assert identity == (f"{{'uid': {uid}, 'euid': {uid}, 'sees_hidden_tests': False}} {uid} {{'level': 'users', "
                        "'reason': 'Linux namespaces are not available (unshare: Operation not permitted)'}")
    assert uid >= isolation.FIRST_WORKER_UID
    assert locked == f"0o700 {before}"  # owner-only while the sandbox was open, its own mode again after
    assert "UserWarning: student code runs at the sandbox level 'users' (Linux namespaces are not available" \
        in done.stderr


@pytest.mark.skipif(not AS_ROOT, reason=ROOT_ONLY)
def test_a_kit_under_tmp_stays_visible_to_its_confined_worker():
    """The worker's private /tmp is mounted before the kit and Python are bound into its tree, so a kit
    or a virtualenv under /tmp (as in CI, where the venv comes from mktemp) still works confined."""
    kit = Path(tempfile.mkdtemp(prefix="kit-under-tmp-"))
    try:
        shutil.copytree(KIT_ROOT / "autograder", kit / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        (kit / "assignments").mkdir(parents=True)
        script = ("import sys; from pathlib import Path; from autograder.course.config import Limits; "
                  "from autograder.sandbox.proxy import Student; from autograder.sandbox.supervisor import Sandbox; "
                  "sandbox = Sandbox({'hostile_probe.py': Path(sys.argv[1])}, Limits(), 'cpu'); "
                  "print(Student(sandbox).hostile_probe.identity()['sees_hidden_tests'], sandbox.isolation); "
                  "sandbox.close()")
        done = subprocess.run([sys.executable, "-c", script, str(HOSTILE / "sandbox" / "hostile_probe.py")],
                              cwd=kit, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "False {'level': 'namespaces', 'reason': ''}"
    finally:
        shutil.rmtree(kit)
