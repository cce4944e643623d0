"""`autograder release`: an assignment's student, Gradescope and solutions zips, and what goes in them."""
from __future__ import annotations

import ast
import platform
import re
import shutil
import stat
import sys
import tempfile
import time
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from .config import KIT_ROOT, GradingConfig, question_test_files
from .generator import generated_files
from .handout import handout, python_floor, tested_versions
from .mutate import all_mutants

TESTS = KIT_ROOT / "tests"
ENGINE = KIT_ROOT / "autograder"
EXECUTABLE = (stat.S_IFREG | 0o755) << 16


class ReleaseError(Exception):
    """The release cannot be built or failed a check; the message says what to fix."""


@dataclass(frozen=True)
class Plan:
    """What one assignment's release is made of."""
    name: str
    config: GradingConfig
    config_path: Path
    questions: list[str]       # the assignment's questions
    loaded: list[str]          # plus those they compare with: a submission holds all of their files
    checkpoints: list[str]     # checkpoint files of the loaded questions, e.g. lenet.pt

    @property
    def title(self) -> str:
        return self.config.assignments[self.name].title or self.name

    def reference_checkpoints(self) -> list[Path]:
        return [KIT_ROOT / "solutions" / name for name in self.checkpoints]


def plan(config: GradingConfig, config_path: Path, name: str) -> Plan:
    if name not in config.assignments:
        raise ReleaseError(f"{config_path}: no assignment {name!r}; choose from {', '.join(config.assignments)}.")
    questions = list(config.assignments[name].questions)
    missing = [q for q in questions if not (KIT_ROOT / "assignments" / f"{q}.py").exists()]
    if missing:
        raise ReleaseError(f"{config_path}: assignment {name!r} lists {missing[0]}, but there is no master "
                           f"assignments/{missing[0]}.py yet; write it or take the question out of the assignment.")
    loaded = config.with_compared(questions)
    checkpoints = [c for q in loaded for c in config.questions[q].checkpoints]
    return Plan(name, config, config_path, questions, loaded, checkpoints)


# -- what each zip holds ---------------------------------------------------------------------------
def helper_modules(test_paths: list[Path]) -> list[Path]:
    """The modules of tests/ (checks*, strategies*) these tests import, directly or through each other."""
    found: dict[str, Path] = {}
    pending = [*test_paths, TESTS / "conftest.py"]
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                path = TESTS / f"{name.split('.')[0]}.py"
                if path.exists() and path.stem not in found and path.name != "conftest.py":
                    found[path.stem] = path
                    pending.append(path)
    return sorted(found.values())


# Engine modules that hold answers, or need one that does: the grader's zip ships them, a student's never.
GRADER_ONLY = {
    "accuracy": "the grader's confusion matrix and per-class accuracy, q6's confusion_matrix and per_class_accuracy",
    "training": "the reference training loop and evaluation, close to q6's train_one_epoch and predict",
    "model_commands": "trains and scores the reference checkpoints with the two above",
}
ORACLES = "oracles_"  # tests/oracles_<question>.py: reference implementations the hidden tests compare with
STUDENT_ENGINE = ("pytest_plugin", "check")         # conftest.py loads the plugin, __init__.py check; the rest follows
OTTER_ENGINE = ("pytest_plugin", "notebook")         # Otter's notebook runs the tests through autograder.notebook


def engine_imports(path: Path) -> set[str]:
    """The engine modules (autograder/<name>.py) a file imports anywhere in its code, by name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("autograder."))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 or module == "autograder":    # from .x import ..., from . import x, from autograder import x
                names.update([module.split(".")[0]] if node.level and module else [a.name for a in node.names])
            elif not node.level and module.startswith("autograder."):
                names.add(module.split(".")[1])
    return {name for name in names if (ENGINE / f"{name}.py").exists()}


def engine_modules(users: list[Path], roots: tuple[str, ...]) -> list[Path]:
    """The engine modules `roots` and these files import, and those they import in turn, without GRADER_ONLY.

    A shipped module may name a grader-only one only in code the student's tests never run (the kit's
    own reference checkpoints) or behind a check that it is there (tests/checks_accuracy.py).
    """
    found: set[str] = set()
    pending = [*users, *(ENGINE / f"{name}.py" for name in roots)]
    while pending:
        path = pending.pop()
        if path.parent == ENGINE:
            found.add(path.stem)
        pending += [ENGINE / f"{name}.py" for name in engine_imports(path) - found - GRADER_ONLY.keys()]
    return sorted(ENGINE / f"{name}.py" for name in found)


def kit_files(test_paths: list[Path], engine_roots: tuple[str, ...] | None = None) -> dict[str, Path]:
    """The engine and the tests it runs, by path inside the kit: what `pytest` needs besides the submission.

    engine_roots=None: the whole engine (the grader's zip). Otherwise only the engine modules these roots and
    the tests need (a student's zip: see engine_modules), so that nothing answer-shaped ships with them.
    """
    files = {"tests/conftest.py": TESTS / "conftest.py"}
    for path in [*test_paths, *helper_modules(test_paths)]:
        relative = path.relative_to(TESTS)
        files[f"tests/{relative}"] = path
        if len(relative.parts) > 1:
            files[f"tests/{relative.parts[0]}/__init__.py"] = TESTS / relative.parts[0] / "__init__.py"
    engine = sorted(ENGINE.glob("*.py")) if engine_roots is None else engine_modules(list(files.values()), engine_roots)
    return {**{f"autograder/{p.name}": p for p in engine}, **files}


def requirements(files: dict[str, str | Path] | None = None) -> str:
    """requirements.txt, pinned (==) to the versions installed here, those the release's checks ran with: of the
    distributions these files import (student.zip: what its engine, tests and stubs need, not the kit's tools), or
    without files of the kit's dependencies (pyproject.toml: Gradescope's and Otter's images run the whole engine).

    Pins for Gradescope too, not pyproject's ranges: the grader then runs what the release was checked with, and a
    later torch or Hypothesis cannot change a verdict, or the examples students met, unnoticed. A Python too old for
    a pin fails the image build instead, loudly (setup.sh then prints this file's header). A dependency that is not
    installed here keeps its range.
    """
    if files is None:
        specs = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
        names = [re.match(r"[\w.-]+", spec)[0] for spec in specs]
    else:
        paths = [PurePosixPath(name) for name in files]
        own = {p.stem for p in paths if p.suffix == ".py"} | {d for p in paths for d in p.parts[:-1]}  # checks, tests
        modules: set[str] = set()
        for name, content in files.items():
            if name.endswith(".py"):  # every import, also those inside functions (matplotlib for a figure)
                for node in ast.walk(ast.parse(content.read_text() if isinstance(content, Path) else content)):
                    if isinstance(node, ast.Import):
                        modules.update(alias.name.split(".")[0] for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        modules.add(node.module.split(".")[0])
        installed = metadata.packages_distributions()  # module -> distributions: yaml -> PyYAML
        third_party = modules - own - set(sys.stdlib_module_names)
        specs, names = [], sorted({d for module in third_party for d in installed.get(module, [])})
    pins = tested_versions(names)
    pinned = {re.sub(r"[-_.]+", "-", name).lower() for name in pins}
    lines = ["# The versions this kit was tested with, pinned: read with importlib.metadata from the environment that",
             f"# built this release (Python {platform.python_version()} on {platform.system()}). They need Python "
             f"{python_floor(pins)} or newer."]
    if files is not None:
        lines.append("# README.md says how to install PyTorch's CPU-only build (its default) or the GPU build.")
    lines += [f"{name}=={version}" for name, version in sorted(pins.items(), key=lambda item: item[0].lower())]
    lines += [spec for spec, name in zip(specs, names) if re.sub(r"[-_.]+", "-", name).lower() not in pinned]
    return "\n".join(lines) + "\n"


def pytest_ini() -> str:
    """pytest settings of the student folder: the kit's, plus the student's options (explained in the file)."""
    options = tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"].replace("-p autograder.pytest_plugin", "").split()
    addopts += ["--submission=.", "--feedback=student", "-rN"]
    lines = ["# `pytest` in this folder runs the public tests on the files in this folder (--submission=.).",
             "# --feedback=student: a failed test shows the grader's message, the input it failed on and what your",
             "# code printed; `pytest --feedback=full` shows pytest's whole report instead.",
             "# -rN: no list of the failed tests at the end; the points of each question close the run instead.",
             "[pytest]", "testpaths = tests", f"addopts = {' '.join(addopts)}", "markers ="]
    lines += [f"    {marker}" for marker in options.get("markers", [])]
    lines += ["filterwarnings ="] + [f"    {f}" for f in options.get("filterwarnings", [])]
    return "\n".join(lines) + "\n"


STUDENT_CONFTEST = '''"""Starts the worker that runs your code (it loads torch while pytest loads the tests), then loads the
kit's grading plugin, both from the autograder/ folder next to this file."""
from pathlib import Path

from autograder.launch import start_early

start_early(Path(__file__).with_name("grading.yml"))
pytest_plugins = ["autograder.pytest_plugin"]
'''
# A regular package, so that `autograder` is this folder's even where the kit is installed too (a namespace
# package would merge both, and a module left out of student.zip would quietly come from the kit's copy).
STUDENT_ENGINE_INIT = '''"""The kit's grading engine: the part the public tests need. In a notebook or at a Python prompt in this
folder, `from autograder import check; check("q8_output_size")` runs one question's public tests as `pytest` does."""
from .check import check

__all__ = ["check"]
'''


def student_files(plan: Plan) -> dict[str, str | Path]:
    """student.zip, under a folder named after the assignment: stubs, handout, public tests, the kit."""
    generated = generated_files(only=plan.questions)
    root = plan.name
    public = question_test_files(plan.questions, ("public",))
    files: dict[str, str | Path] = {f"{root}/{name}": path for name, path in kit_files(public, STUDENT_ENGINE).items()}
    files[f"{root}/autograder/__init__.py"] = STUDENT_ENGINE_INIT
    files.update({f"{root}/{q}.py": generated[KIT_ROOT / "student_template" / f"{q}.py"] for q in plan.questions})
    files[f"{root}/pytest.ini"] = pytest_ini()
    files[f"{root}/conftest.py"] = STUDENT_CONFTEST
    files[f"{root}/grading.yml"] = plan.config_path
    files[f"{root}/requirements.txt"] = requirements(files)  # the packages that these files import
    files[f"{root}/README.md"] = handout(plan, files[f"{root}/requirements.txt"])
    return files


def autograder_files(plan: Plan) -> dict[str, str | Path]:
    """autograder.zip for Gradescope: setup.sh, run_autograder, and the kit with every test under kit/."""
    tests = question_test_files(plan.questions)
    files: dict[str, str | Path] = {f"kit/{name}": path for name, path in kit_files(tests).items()}
    files["kit/pyproject.toml"] = KIT_ROOT / "pyproject.toml"
    files["kit/grading.yml"] = plan.config_path
    files["kit/requirements.txt"] = requirements()
    files["setup.sh"] = setup_script(plan)
    files["run_autograder"] = RUN_AUTOGRADER.format(assignment=plan.name)
    return files


def solution_files(plan: Plan) -> dict[str, str | Path]:
    """solutions.zip: the reference solutions, for after the deadline."""
    generated = generated_files(only=plan.questions)
    return {f"solutions/{q}.py": generated[KIT_ROOT / "solutions" / f"{q}.py"] for q in plan.questions}


def setup_script(plan: Plan) -> str:
    fetch = ('\n# the accuracy questions are graded on CIFAR-10 (grading.yml data.name): fetch it once, here\n'
             'PYTHONPATH="$KIT" python3 -m autograder.cli data --download\n') \
        if plan.config.data.name == "cifar10" and plan.checkpoints else ""
    return f'''#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: install the kit's dependencies.
set -euo pipefail
KIT=/autograder/source/kit
cd "$KIT"
if ! python3 -m pip --version > /dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-pip
fi
python3 -m pip install --upgrade pip
# pinned versions (see requirements()); torch==X picks PyTorch's CPU-only build X+cpu from the extra index
python3 -m pip install -r requirements.txt --extra-index-url https://download.pytorch.org/whl/cpu || {{
    echo "setup.sh: pip could not install the versions this release was tested with ($(python3 --version)):" >&2
    grep '^#' requirements.txt >&2
    exit 1
}}
{fetch}'''


RUN_AUTOGRADER = '''#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission with the kit (assignment
# {assignment}) and write /autograder/results/results.json. AUTOGRADER_ROOT and AUTOGRADER_PYTHON
# replace /autograder and python3, for a trial run outside Gradescope.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-python3}}"
KIT="$ROOT/source/kit"
cd "$KIT"
PYTHONPATH="$KIT" "$PYTHON" -m autograder.cli grade "$ROOT/submission" --one --assignment {assignment} \\
    --config "$KIT/grading.yml" --out "$ROOT/graded" --jobs 1
mkdir -p "$ROOT/results"
cp "$ROOT/graded/submission/results.json" "$ROOT/results/results.json"
'''


def write_zip(path: Path, files: dict[str, str | Path]) -> Path:
    """A zip of these files (text or a path to copy); shell scripts are executable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            data = content.read_bytes() if isinstance(content, Path) else content.encode()
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = EXECUTABLE if name.endswith((".sh", "run_autograder")) else (0o644 << 16)
            archive.writestr(info, data)
    return path


# -- the command -----------------------------------------------------------------------------------
def make_release(name: str, out: Path, config_path: Path, otter: bool = False, jobs: int = 2,
                 mutants: int | None = None, say=print, allow_synthetic_data: bool = False) -> list:
    """Build the assignment's zips, check them, and move them to out/<name>/ only if every check passes.

    Zips that fail a check go to out/<name>.rejected/ for a look. Returns the checks; raises
    ReleaseError when the release cannot even be built, or would grade checkpoints on the synthetic
    images without `allow_synthetic_data`.
    """
    from . import release_checks as checks
    from .config import load_config

    started = time.monotonic()
    the_plan = plan(load_config(config_path), Path(config_path), name)
    if the_plan.checkpoints and the_plan.config.data.name == "synthetic" and not allow_synthetic_data:
        raise ReleaseError(  # checked before anything is built; one line
            f"{config_path}: data.name is 'synthetic', so {', '.join(the_plan.checkpoints)} would be graded on "
            "the kit's synthetic images, not on the CIFAR-10 the statements tell students to train on; set "
            "data.name: cifar10 there (and fetch it with `autograder data --download`), or pass "
            "--allow-synthetic-data for a trial release graded on synthetic images (its README says so).")
    problems = checks.missing_checkpoints(the_plan)
    if problems:
        raise ReleaseError("\n".join(problems))
    staging, final, rejected = out / f"{name}.building", out / name, out / f"{name}.rejected"
    for folder in (staging, final, rejected):
        shutil.rmtree(folder, ignore_errors=True)
    zips = {kind: write_zip(staging / f"{kind}.zip", files(the_plan)) for kind, files in
            (("student", student_files), ("autograder", autograder_files), ("solutions", solution_files))}
    say(f"release {name}: {', '.join(f'{z.name} ({z.stat().st_size >> 10} KiB)' for z in zips.values())}; checking")
    with tempfile.TemporaryDirectory(prefix=f"release-{name}-") as work:
        results = run_checks(the_plan, zips, Path(work), staging if otter else None, jobs, mutants)
    for check in results:
        detail = ", ".join(filter(None, [check.detail, f"{check.seconds:.0f} s" if check.seconds else ""]))
        say(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}" + (f" ({detail})" if detail else ""))
        for problem in check.problems:
            say("         " + problem.replace("\n", "\n         "))
    reports = [r for check in results for r in check.power]
    if reports:
        say(checks.power_table(reports, mutants))
    passed = all(check.ok for check in results)
    staging.rename(final if passed else rejected)
    say(f"{'released' if passed else 'NOT released'} {name} in {time.monotonic() - started:.0f} s: "
        f"{final if passed else rejected}/" + ("" if passed else " holds the zips that failed; fix the problems above."))
    return results


def run_checks(plan: Plan, zips: dict[str, Path], work: Path, otter_into: Path | None, jobs: int,
               mutants: int | None = None) -> list:
    """Every check of the release, `jobs` at a time (each runs its own processes); the leak scan first."""
    from . import release_checks as checks

    reference, stubs = checks.reference_files(plan), checks.stub_files(plan)
    for question in plan.questions:  # here, not in the threads below (see mutate.all_mutants)
        all_mutants(question)
    tasks = [(checks.check_power, plan, group, work / f"power{i}", mutants)
             for i, group in enumerate(checks.power_groups(plan.questions, jobs))]
    tasks += [(checks.check_gradescope, plan, zips["autograder"], work / "gs-reference", reference, True),
              (checks.check_student_zip, plan, zips["student"], work / "student-reference", True),
              (checks.check_gradescope, plan, zips["autograder"], work / "gs-stubs", stubs, False),
              (checks.check_student_zip, plan, zips["student"], work / "student-stubs", False)]
    if otter_into is not None:
        from .otter_track import check_otter
        tasks.insert(0, (check_otter, plan, otter_into, work / "otter"))

    def timed(task) -> list:
        begun = time.monotonic()
        try:
            result = task[0](*task[1:])
        except Exception as exc:  # noqa: BLE001 - a broken check fails the release with its reason, never silently
            result = checks.Check(f"{task[0].__name__} ({plan.name})", [f"the check itself failed: "
                                                                        f"{type(exc).__name__}: {exc}"])
        result = result if isinstance(result, list) else [result]
        for check in result:
            check.seconds = time.monotonic() - begun
        return result
    leaks = checks.Check("student.zip: no solution code, hidden tests, checkpoints or grader state",
                         checks.leak_scan(zips["student"]))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return [leaks] + [check for done in pool.map(timed, tasks) for check in done]
