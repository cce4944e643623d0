"""What each zip of an assignment holds (student, Gradescope, solutions), and writing a zip."""
from __future__ import annotations

import ast
import platform
import re
import stat
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from autograder.course.config import KIT_ROOT, GradingConfig
from autograder.course.layout import MODELS, QUESTIONS, master_file, question_folder, question_test_files, questions_folder, shown
from autograder.course.generator import generated_files
from autograder.release.handout import handout, kit_project, python_floor, tested_versions

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
    missing = [q for q in questions if not master_file(q).exists()]
    if missing:
        raise ReleaseError(f"{config_path}: assignment {name!r} lists {missing[0]}, but there is no master "
                           f"{shown(master_file(missing[0]))} yet; write it or take the question out of the assignment.")
    loaded = config.with_compared(questions)
    checkpoints = [c for q in loaded for c in config.questions[q].checkpoints]
    return Plan(name, config, config_path, questions, loaded, checkpoints)


# -- what each zip holds ---------------------------------------------------------------------------
def helper_modules(test_paths: list[Path]) -> list[Path]:
    """The library modules these tests import (assignments/checks.py, a question's checks.py, strategies.py, ...),
    directly or through each other, with assignments/conftest.py and the __init__.py of every package on the way."""
    library = questions_folder()
    found: set[Path] = set()
    pending = [*test_paths, library / "conftest.py"]
    while pending:
        path = pending.pop()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            package = path.parent.joinpath(*[".."] * (node.level - 1)).resolve()
            base = package.joinpath(*(node.module or "").split(".")) if node.module else package
            candidates = [base.with_suffix(".py")] + [base / f"{a.name}.py" for a in node.names]
            for module in candidates:
                if module.exists() and library in module.parents and module not in found:
                    found.add(module)
                    pending.append(module)
    users = [*found, *test_paths]
    packages = {folder / "__init__.py" for user in users for folder in [user.parent, *user.parent.parents]
                if folder == library or library in folder.parents}
    return sorted(found | {library / "conftest.py"} | packages)


# Engine modules (dotted, under autograder/) that hold answers, or need one that does: the grader's zip ships
# them, a student's never.
GRADER_ONLY = {
    "models.accuracy": "the grader's confusion matrix and per-class accuracy, q6's confusion_matrix and per_class_accuracy",
    "models.training": "the reference training loop and evaluation, close to q6's train_one_epoch and predict",
    "models.references": "trains the reference checkpoints with the two above",
    "model_commands": "trains and scores the reference checkpoints with the three above",
}
STUDENT_ENGINE = ("grading.plugin", "grading.check")   # conftest.py loads the plugin, __init__.py check; the rest follows
OTTER_ENGINE = ("grading.plugin", "grading.notebook")  # Otter's notebook runs the tests through autograder.grading.notebook


def module_path(name: str) -> Path:
    """autograder/<a>/<b>.py for the engine module "a.b"."""
    return ENGINE.joinpath(*name.split(".")).with_suffix(".py")


def module_name(path: Path) -> str:
    """ "a.b" for autograder/<a>/<b>.py."""
    return ".".join(path.relative_to(ENGINE).with_suffix("").parts)


def engine_imports(path: Path) -> set[str]:
    """The engine modules (autograder/.../<name>.py, dotted) a file imports anywhere in its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.removeprefix("autograder.") for a in node.names if a.name.startswith("autograder."))
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("autograder"):
            module = node.module.removeprefix("autograder").removeprefix(".")
            names.update(f"{module}.{a.name}".lstrip(".") for a in node.names)  # `from autograder.a import b`
            names.add(module)
    return {name for name in names if name and module_path(name).exists()}


def engine_modules(users: list[Path], roots: tuple[str, ...]) -> list[Path]:
    """The engine modules `roots` and these files import, and those they import in turn, without GRADER_ONLY,
    with the __init__.py of every package they are in.

    A shipped module may name a grader-only one only in code the student's tests never run (the kit's
    own reference checkpoints) or behind a check that it is there (assignments/accuracy_checks.py).
    """
    found: set[str] = set()
    pending = [*users, *(module_path(name) for name in roots)]
    while pending:
        path = pending.pop()
        if ENGINE in path.parents:
            found.add(module_name(path))
        pending += [module_path(name) for name in engine_imports(path) - found - GRADER_ONLY.keys()]
    packages = {name.rpartition(".")[0] for name in found} - {""}
    return sorted({*(module_path(name) for name in found), *(ENGINE / p / "__init__.py" for p in packages)})


def kit_files(test_paths: list[Path], engine_roots: tuple[str, ...] | None = None,
              questions: list[str] = ()) -> dict[str, Path]:
    """The engine and the tests it runs, by path inside the kit: what `pytest` needs besides the submission,
    with the models.yml of these questions (the model registry the accuracy tests read).

    engine_roots=None: the whole engine (the grader's zip). Otherwise only the engine modules these roots and
    the tests need (a student's zip: see engine_modules), so that nothing answer-shaped ships with them.
    """
    files = {shown(path): path for path in [*test_paths, *helper_modules(test_paths)]}
    files.update({shown(path): path for path in (question_folder(q) / MODELS for q in questions) if path.exists()})
    engine = sorted(p for p in ENGINE.rglob("*.py") if "__pycache__" not in p.parts) if engine_roots is None \
        else engine_modules([p for p in files.values() if p.suffix == ".py"], engine_roots)
    return {**{f"autograder/{p.relative_to(ENGINE).as_posix()}": p for p in engine}, **files}


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
        specs = kit_project()["project"]["dependencies"]
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
    options = kit_project()["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"].replace("-p autograder.grading.plugin", "").split()
    addopts += ["--submission=.", "--feedback=student", "-rN"]
    lines = ["# `pytest` in this folder runs the public tests on the files in this folder (--submission=.).",
             "# --feedback=student: a failed test shows the grader's message, the input it failed on and what your",
             "# code printed; `pytest --feedback=full` shows pytest's whole report instead.",
             "# -rN: no list of the failed tests at the end; the points of each question close the run instead.",
             "[pytest]", f"testpaths = {QUESTIONS}", f"addopts = {' '.join(addopts)}", "markers ="]
    lines += [f"    {marker}" for marker in options.get("markers", [])]
    lines += ["filterwarnings ="] + [f"    {f}" for f in options.get("filterwarnings", [])]
    return "\n".join(lines) + "\n"


STUDENT_CONFTEST = '''"""Starts the worker that runs your code (it loads torch while pytest loads the tests), then loads the
kit's grading plugin, both from the autograder/ folder next to this file."""
from pathlib import Path

from autograder.sandbox.launch import start_early

start_early(Path(__file__).with_name("grading.yml"))
pytest_plugins = ["autograder.grading.plugin"]
'''
# A regular package, so that `autograder` is this folder's even where the kit is installed too (a namespace
# package would merge both, and a module left out of student.zip would quietly come from the kit's copy).
STUDENT_ENGINE_INIT = '''"""The kit's grading engine: the part the public tests need. In a notebook or at a Python prompt in this
folder, `from autograder import check; check("q8_output_size")` runs one question's public tests as `pytest` does."""
from autograder.grading.check import check

__all__ = ["check"]
'''


def student_files(plan: Plan) -> dict[str, str | Path]:
    """student.zip, under a folder named after the assignment: stubs, handout, public tests, the kit."""
    generated = generated_files(only=plan.questions)
    root = plan.name
    public = question_test_files(plan.questions, ("public",))
    files: dict[str, str | Path] = {f"{root}/{name}": path for name, path in kit_files(public, STUDENT_ENGINE, plan.loaded).items()}
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
    files: dict[str, str | Path] = {f"kit/{name}": path for name, path in kit_files(tests, None, plan.loaded).items()}
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
