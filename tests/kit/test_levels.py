"""The sandbox's three levels: `autograder doctor` names each, and the hostile suite and a Gradescope run hold
at the users level (root without CAP_SYS_ADMIN, as in Docker's default set of capabilities and on Gradescope)."""
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import isolation
from autograder.release import contents as release
from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.grading.environment import pytest_env

pytestmark = pytest.mark.slow

# What `docker run` keeps without --privileged or --cap-add (Docker's default set, also Gradescope's).
DOCKER_CAPABILITIES = {"cap_chown", "cap_dac_override", "cap_fsetid", "cap_fowner", "cap_mknod", "cap_net_raw",
                       "cap_setgid", "cap_setuid", "cap_setfcap", "cap_setpcap", "cap_net_bind_service",
                       "cap_sys_chroot", "cap_kill", "cap_audit_write"}
NOBODY = 65534
FULL = isolation.detect_level().name == isolation.NAMESPACES
NEEDS = "needs root with namespaces (to take them away) and libcap's capsh (.ci/run installs it)"


def as_in_docker(command: list[str]) -> list[str]:
    """command, run as root with only Docker's default capabilities."""
    bounding = subprocess.run(["capsh", "--print"], capture_output=True, text=True, check=True).stdout
    present = next(line for line in bounding.splitlines() if line.startswith("Bounding set ="))
    dropped = sorted(set(present.split("=", 1)[1].split(",")) - DOCKER_CAPABILITIES)
    return ["capsh", f"--drop={','.join(dropped)}", "--", "-c", "exec " + shlex.join(command)]


def as_nobody(command: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *command]


def run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=KIT_ROOT, capture_output=True, text=True, timeout=timeout,
                          env=pytest_env(HOME=tempfile.gettempdir()), stdin=subprocess.DEVNULL)


needs_capsh = pytest.mark.skipif(not FULL or not shutil.which("capsh"), reason=NEEDS)


@needs_capsh
def test_doctor_names_the_level_as_root_without_cap_sys_admin_and_as_an_ordinary_user():
    doctor = [sys.executable, "-m", "autograder.cli", "doctor"]
    seen = {"root": run(doctor, 60), "docker": run(as_in_docker(doctor), 60), "user": run(as_nobody(doctor), 60)}
    first_lines = {who: done.stdout.splitlines()[0] if done.stdout else done.stderr for who, done in seen.items()}
    assert first_lines == {"root": "sandbox level: namespaces", "docker": "sandbox level: users",
                           "user": "sandbox level: none"}
    assert "Linux namespaces are refused" in seen["docker"].stdout and "--cap-add SYS_ADMIN" in seen["docker"].stdout
    assert f"uid {NOBODY}" in seen["user"].stdout and "run the grader as root" in seen["user"].stdout
    assert seen["root"].returncode == 0 and "stronger" not in seen["root"].stdout


@needs_capsh
def test_the_hostile_suite_holds_at_the_users_level():
    """The whole hostile batch of test_hostile.py again, as root with Docker's capabilities: no hidden-test text in
    any results.json or feedback.md, no verdict changed by tampering, no stray process (network cases skip)."""
    done = run(as_in_docker([sys.executable, "-m", "pytest", str(KIT_ROOT / "tests" / "kit" / "test_hostile.py"),
                             "-q", "-s", "-p", "no:cacheprovider", "-rs", "-k", "not dask"]), 600)
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert "hostile batch: " in done.stdout
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped and all("namespaces" in line for line in skipped), skipped  # only the network cases
    assert not any(KIT_ROOT.joinpath(name).stat().st_mode & 0o077 == 0 for name in ("tests", "solutions")), \
        "the grader's files were not given back their modes"


@needs_capsh
def test_a_simulated_gradescope_run_grades_the_reference_at_the_users_level():
    """run_autograder of the layers assignment in Gradescope's layout (/autograder is world-readable there)."""
    workdir = Path(tempfile.mkdtemp(prefix="gradescope-"))
    try:
        workdir.chmod(0o755)
        the_plan = release.plan(load_config(DEFAULT_CONFIG), DEFAULT_CONFIG, "layers")
        zip_path = release.write_zip(workdir / "autograder.zip", release.autograder_files(the_plan))
        script = ("import sys; from pathlib import Path; "
                  "from autograder.release import contents as release, checks as release_checks; "
                  "from autograder.course.config import load_config; "
                  "plan = release.plan(load_config(Path(sys.argv[1])), Path(sys.argv[1]), 'layers'); "
                  "check = release_checks.check_gradescope(plan, Path(sys.argv[2]), Path(sys.argv[3]), "
                  "release_checks.reference_files(plan), True); print(check.problems or 'ok', check.detail)")
        done = run(as_in_docker([sys.executable, "-c", script, str(DEFAULT_CONFIG), str(zip_path), str(workdir)]), 600)
        assert done.returncode == 0 and done.stdout.startswith("ok "), done.stdout + done.stderr
        results = json.loads((workdir / "autograder" / "results" / "results.json").read_text())
        assert results["score"] == results["max_score"] == sum(
            q.points for q in the_plan.config.assignments["layers"].questions.values())
        assert results["extra_data"]["sandbox"]["level"] == isolation.USERS
    finally:
        shutil.rmtree(workdir)
