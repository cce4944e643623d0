"""What a student's laptop gets: `check()` from a notebook, a handout for macOS, Linux and Windows, pinned packages."""
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from student_folder import unzipped_student_folder

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.release.handout import CPU_INDEX
from autograder.release.contents import autograder_files, plan, setup_script
from autograder.release.checks import pytest_command, student_env

LAYERS = "layers"
QUESTION = "q8_output_size"
# In the unzipped folder, as a notebook's kernel runs it: the stubs, then the reference saved over them (the same
# process: a re-run must see the edited file), then a question the folder does not have.
CHECKS = f'''
import json, shutil, sys
from autograder import check
torch_loaded = "torch" in sys.modules
runs = [check({QUESTION!r})]
shutil.copy(sys.argv[1], {QUESTION!r} + ".py")
runs += [check({QUESTION!r}), check("q9_nothing")]
print(json.dumps({{"torch_loaded": torch_loaded, "runs": [dict(repr=repr(r), html=r._repr_html_(), passed=r.passed,
                  points=r.points, max_points=r.max_points) for r in runs]}}))
'''


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory) -> Path:
    """The unzipped layers student.zip."""
    return unzipped_student_folder(tmp_path_factory.mktemp("student"), LAYERS)


@pytest.fixture(scope="module")
def pytest_on_stubs(student_folder) -> str:
    """What `pytest assignments/q8_output_size/test_public.py` prints on the untouched stubs (check() adds these options)."""
    run = subprocess.run([*pytest_command(), "--color=no", "--no-header", f"assignments/{QUESTION}/test_public.py"],
                         cwd=student_folder, env=student_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=300)
    return run.stdout


@pytest.fixture(scope="module")
def checks(student_folder, pytest_on_stubs) -> dict:
    """CHECKS run with `python -S` in the folder (only its own autograder/, as on a student's machine)."""
    run = subprocess.run([sys.executable, "-S", "-c", CHECKS, str(KIT_ROOT / "solutions" / f"{QUESTION}.py")],
                         cwd=student_folder, env=student_env(), stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


def without_timing(output: str) -> str:
    return re.sub(r" in [\d.]+s", " in Ns", output).strip()


# -- check() -------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_check_on_the_stubs_fails_with_what_pytest_shows_and_no_points(checks, pytest_on_stubs):
    stubs = checks["runs"][0]
    assert not stubs["passed"] and stubs["points"] == 0 and stubs["max_points"] == 10
    assert "conv_output_size(28, 5) raised NotImplementedError: conv_output_size: not implemented yet" in stubs["repr"]
    assert without_timing(stubs["repr"]) == without_timing(pytest_on_stubs)
    assert "hidden tests also count toward your grade" in stubs["repr"]


@pytest.mark.slow
def test_check_sees_the_saved_reference_and_gives_the_points_line(checks):
    reference = checks["runs"][1]
    assert reference["passed"] and reference["points"] == reference["max_points"] == 10
    assert re.search(rf"^{QUESTION} +public tests: 10\.00 of 10 points \((\d+) of \1 tests passed\)$",
                     reference["repr"], re.MULTILINE), reference["repr"]
    assert reference["html"].startswith("<pre>") and "public tests: 10.00 of 10 points" in reference["html"]


@pytest.mark.slow
def test_check_of_an_unknown_question_is_one_line_naming_the_folders_questions(checks):
    unknown = checks["runs"][2]
    questions = ", ".join(load_config().assignments[LAYERS].questions)
    assert unknown["repr"] == f"check: no question 'q9_nothing' here; the questions of this folder are {questions}"
    assert not unknown["passed"] and unknown["points"] == unknown["max_points"] == 0


@pytest.mark.slow
def test_importing_check_loads_no_torch(checks):
    assert checks["torch_loaded"] is False


def test_the_student_zip_ships_check_and_its_package_exports_it(student_folder):
    assert (student_folder / "autograder" / "grading" / "check.py").exists()
    assert "from autograder.grading.check import check" in (student_folder / "autograder" / "__init__.py").read_text()


def test_check_imports_from_the_kit_too(tmp_path):
    run = subprocess.run([sys.executable, "-c", "from autograder import check; print(check.__module__)"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "autograder.grading.check", \
        f"{run.stderr}\n(an install from before autograder/__init__.py existed: run `pip install -e .` again)"


# -- the handout ---------------------------------------------------------------------------------------------
def test_the_handout_installs_the_cpu_build_by_default_and_says_how_to_get_the_gpu_one(student_folder):
    handout = (student_folder / "README.md").read_text()
    pins = dict(re.findall(r"^(\S+)==(\S+)$", (student_folder / "requirements.txt").read_text(), re.MULTILINE))
    assert (f"python -m pip install torch=={pins['torch']} torchvision=={pins['torchvision']} "
            f"--index-url {CPU_INDEX}\npython -m pip install -r requirements.txt") in handout
    assert "**macOS**" in handout and "GPU (CUDA) build" in handout
    assert "https://pytorch.org/get-started/locally/" in handout


def test_the_handout_shows_the_terminal_on_every_system_and_the_notebook_line(student_folder):
    handout = (student_folder / "README.md").read_text()
    assert "```bash\npytest\n```" in handout and "`python -m pytest`" in handout and "`py -m pytest`" in handout
    assert "Windows (PowerShell)" in handout and r".venv\Scripts\Activate.ps1" in handout
    assert '```python\nfrom autograder import check; check("q1_conv")\n```' in handout
    assert "`pytest --feedback=full`" in handout
    assert "**public tests only**" in handout and "hidden tests" in handout


# -- requirements --------------------------------------------------------------------------------------------
def test_the_student_requirements_pin_what_the_folder_imports_at_the_versions_installed_here(student_folder):
    lines = (student_folder / "requirements.txt").read_text().splitlines()
    comments, pins = [l for l in lines if l.startswith("#")], [l for l in lines if l and not l.startswith("#")]
    assert comments and "tested with" in comments[0]
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in pins), pins
    names = {pin.split("==")[0].lower() for pin in pins}
    assert {"torch", "torchvision", "numpy", "pytest", "hypothesis", "pyyaml"} <= names
    assert not names & {"otter-grader", "tqdm", "jsonschema", "cnn-exercise-kit"}
    for pin in pins:
        name, version = pin.split("==")
        assert metadata.version(name).split("+")[0] == version


def test_gradescope_installs_the_kits_dependencies_pinned_with_the_cpu_index():
    the_plan = plan(load_config(DEFAULT_CONFIG), DEFAULT_CONFIG, LAYERS)
    pins = [l for l in autograder_files(the_plan)["kit/requirements.txt"].splitlines() if l and not l.startswith("#")]
    # pinned, but for a dependency of other Pythons only (tomli on 3.10), which keeps its range and its marker
    unpinned = [pin for pin in pins if "==" not in pin and not Requirement(pin).marker]
    assert pins and not unpinned and any(pin.startswith("torch==") for pin in pins)
    assert all(not Requirement(pin).marker.evaluate() for pin in pins if "==" not in pin)
    assert f"-r requirements.txt --extra-index-url {CPU_INDEX}" in setup_script(the_plan)
