"""The checks a release passes before it is handed out: leaks, the student zip, Gradescope, test power."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.course.config import KIT_ROOT
from autograder.grading.environment import pytest_env
from autograder.course.layout import (ALTERNATIVES, MASTER, ORACLES, WRONG_ANSWERS, master_file, question_folder,
                                       question_ids, question_test_files, shown)
from autograder.course.generator import generated_files
from autograder.course.markers import LINE, solution_regions, without_marker
from autograder.release.mutation import MUTANTS_PER_QUESTION, MutationReport, measure_test_power
from autograder.release.contents import GRADER_ONLY, Plan
from autograder.grading.results import graded_tests
from autograder.grading.submission import unpack

STATE_NAMES = {"results.json", "feedback.md", "gradebook.csv", "checkpoints.json", "grader.log"}
STATE_PARTS = {"__pycache__", ".hypothesis", ".pytest_cache", "graded", "solutions", "hidden", ALTERNATIVES}
STAFF_NAMES = (MASTER, WRONG_ANSWERS, "test_hidden")  # a question folder's files for staff and the grader only
MISSING_FILE = "not found in your submission"


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)
    detail: str = ""
    power: list[MutationReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ReleaseCheck:
    """One check of a release, ready to run in a work folder of its own: run(workdir) gives its Check(s)."""
    name: str
    run: Callable[[Path], Check | list[Check]]


# -- before anything is built ------------------------------------------------------------------------
def missing_checkpoints(plan: Plan) -> list[str]:
    """Reference checkpoints the checks need that are absent, or trained on other data than grading.yml's."""
    from autograder.models.reference_manifest import data_fingerprint, read_manifest

    manifest = read_manifest()
    problems = []
    for name in plan.checkpoints:
        model = Path(name).stem
        if not (KIT_ROOT / "solutions" / name).exists():
            problems.append(f"solutions/{name} is missing; the checks grade the reference with it: run "
                            f"`autograder train {model}` first.")
        elif model in manifest and any(manifest[model].get(k) != v for k, v in data_fingerprint(plan.config).items()):
            problems.append(f"solutions/{name} was not trained on the data grading.yml names "
                            f"({plan.config.data.name}): run `autograder train {model}` again.")
    return problems


# -- leaks -----------------------------------------------------------------------------------------
def _significant(text: str) -> list[str]:
    """Code lines without blanks, comments and solution markers, stripped."""
    lines = []
    for line in text.splitlines():
        code = without_marker(line).strip()
        if code and not code.startswith("#"):
            lines.append(code)
    return lines


def solution_windows(root: Path = KIT_ROOT) -> dict[tuple[str, ...], str]:
    """Runs of up to 3 consecutive solution lines (40+ characters together) of every master -> its file.

    A file holding one of these runs holds solution code; a single line is a leak only when it is
    distinctive (see `distinctive`).
    """
    windows = {}
    for master in (master_file(q, root) for q in question_ids(root)):
        regions = solution_regions(master.read_text(), shown(master, root))
        for region in map(lambda r: _significant("\n".join(r)), regions):
            width = min(3, len(region))
            for start in range(len(region) - width + 1):
                window = tuple(region[start:start + width])
                if sum(map(len, window)) >= 40:
                    windows[window] = shown(master, root)
    return windows


# -- one distinctive line ------------------------------------------------------------------------------
DISTINCTIVE_LENGTH = 24  # characters without spaces: `total_examples += len(labels)` has 27, `optimizer.zero_grad()` 21
_STRING = re.compile(r"""[rbuf]*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""", re.IGNORECASE)
_COMPUTES = re.compile(r"\w\s*\(|[-+*/%@<>&|^~]|[=!]=")     # a call, or an operator other than plain `=`
_COMMENT = re.compile(r"\s+#[^'\"]*$")


def normalised(line: str) -> str:
    """A code line as the single-line rule compares it: no solution marker, no trailing comment, no whitespace."""
    code = line.strip()
    if code.endswith(LINE):  # marked or not (a comment line ending so is no code either way)
        code = code[: -len(LINE)]
    return re.sub(r"\s+", "", _COMMENT.sub("", code))


def distinctive(line: str) -> bool:
    """Whether one solution line is specific enough that a single copy of it in a shipped file is a leak.

    It is when, normalised, it has at least DISTINCTIVE_LENGTH characters and computes something outside
    its string literals (a call or an operator): `count = -(-room // stride) + 1`, `return total_loss /
    total_examples`. Boilerplate is not: `return x`, `pass`, `import torch`, a lone bracket, `model.eval()`,
    `with torch.no_grad():`, `for inputs, labels in loader:`, the tail of an error message.
    """
    code = normalised(line)
    return len(code) >= DISTINCTIVE_LENGTH and not code.startswith("#") and bool(_COMPUTES.search(_STRING.sub("", code)))


def distinctive_solution_lines(root: Path = KIT_ROOT) -> dict[str, str]:
    """Normalised distinctive lines of every master's solution regions that no stub holds -> their master.

    The stubs hold the statements and the code outside the solution regions, so a line found there too
    (a docstring example, `super().__init__()`) gives nothing away.
    """
    given = {normalised(line) for path, text in generated_files(root).items()
             if path.parent.name == "student_template" for line in text.splitlines()}
    found = {}
    for master in (master_file(q, root) for q in question_ids(root)):
        for line in (line for region in solution_regions(master.read_text(), shown(master, root)) for line in region):
            if distinctive(line) and normalised(line) not in given:
                found.setdefault(normalised(line), shown(master, root))
    return found


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def grader_only(name: str) -> str:
    """Why a file of this name belongs to the grader alone, or "": an answer-shaped engine module or test oracle."""
    path = PurePosixPath(name)
    engine = path.parts.index("autograder") if "autograder" in path.parts[:-1] else None
    module = ".".join(path.with_suffix("").parts[engine + 1:]) if engine is not None else ""
    if path.suffix == ".py" and module in GRADER_ONLY:
        return f"a grader-only engine module ({GRADER_ONLY[module]})"
    if path.name == ORACLES:
        return "a grader-only test oracle (the hidden tests' reference implementations)"
    return ""


def leak_scan(zip_path: Path, root: Path = KIT_ROOT) -> list[str]:
    """What student.zip must not hold: solution code, hidden tests, reference files, checkpoints, grader state."""
    with zipfile.ZipFile(zip_path) as archive:
        return scan_files({name: archive.read(name) for name in archive.namelist()}, zip_path.name, root)


def scan_files(files: dict[str, bytes], label: str = "student.zip", root: Path = KIT_ROOT) -> list[str]:
    """leak_scan on files given as name -> content (the names as in the zip)."""
    grader_side = [*question_test_files(question_ids(root), ("hidden",), root),  # and the alternative solutions
                   *(p for q in question_ids(root) for p in question_folder(q, root).rglob("*.py")
                     if p.name == ORACLES or ALTERNATIVES in p.relative_to(question_folder(q, root)).parts)]
    secret = {_digest(p.read_bytes()): shown(p, root) for p in grader_side if p.stat().st_size}
    secret.update({_digest(text.encode()): str(path.relative_to(root))
                   for path, text in generated_files(root).items() if path.parent.name == "solutions"})
    windows, lines_of_solutions = solution_windows(root), distinctive_solution_lines(root)
    problems = []
    for name, data in files.items():
        where = f"{label}: {name}"
        parts = set(PurePosixPath(name).parts)
        if name.endswith((".pt", ".pth")):
            problems.append(f"{where} is a checkpoint; students train their own.")
        elif parts & STATE_PARTS or PurePosixPath(name).name in STATE_NAMES or name.endswith(".pyc") \
                or PurePosixPath(name).name.startswith(STAFF_NAMES):
            problems.append(f"{where} is grader state or reference material (hidden tests, solutions, "
                            "caches, results).")
        elif grader_only(name):
            problems.append(f"{where} is {grader_only(name)}.")
        if _digest(data) in secret:
            problems.append(f"{where} is a copy of {secret[_digest(data)]}.")
            continue
        problems += solution_code_in(where, _significant(data.decode("utf-8", "replace")), windows,
                                     lines_of_solutions)
    return problems


def solution_code_in(where: str, lines: list[str], windows: dict, lines_of_solutions: dict[str, str]) -> list[str]:
    """The first run of solution lines in a file's code lines, else its first distinctive solution line."""
    for start in range(len(lines)):
        for width in (1, 2, 3):
            source = windows.get(tuple(lines[start:start + width]))
            if source:
                return [f"{where} holds solution code of {source}: {lines[start]!r}."]
    for line in lines:
        source = lines_of_solutions.get(normalised(line))
        if source:
            return [f"{where} holds a distinctive solution line of {source}: {line!r}."]
    return []


# -- running the unpacked zips ---------------------------------------------------------------------
def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def pytest_command() -> list[str]:
    """`pytest` as students type it: the console script next to this Python (it adds no folder to sys.path).

    It runs under `python -S`, as on a machine where only the requirements are installed: no .pth file runs, so
    the kit's own editable install cannot hand over an engine module that student.zip lacks (its finder would,
    even past the zip's own autograder package); the packages come back through student_env's PYTHONPATH.
    """
    script = Path(sys.executable).with_name("pytest")
    return [sys.executable, "-S", *([str(script)] if script.exists() else ["-m", "pytest"])]


def student_env() -> dict[str, str]:
    """The environment of pytest_command: this one, with the installed packages as PYTHONPATH."""
    packages = dict.fromkeys(sysconfig.get_paths()[kind] for kind in ("purelib", "platlib"))
    return pytest_env(("PYTHONPATH",), PYTHONPATH=os.pathsep.join(packages))


def reference_files(plan: Plan) -> dict[str, Path | str]:
    """A perfect submission: the reference of every loaded question and the reference checkpoints."""
    generated = generated_files(only=plan.loaded)
    files: dict[str, Path | str] = {f"{q}.py": generated[KIT_ROOT / "solutions" / f"{q}.py"] for q in plan.loaded}
    files.update({p.name: p for p in plan.reference_checkpoints()})
    return files


def stub_files(plan: Plan) -> dict[str, Path | str]:
    generated = generated_files(only=plan.questions)
    return {f"{q}.py": generated[KIT_ROOT / "student_template" / f"{q}.py"] for q in plan.questions}


def place(files: dict[str, Path | str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy2(content, folder / name)
        else:
            (folder / name).write_text(content)


def failed_cleanly(results: dict) -> list[str]:
    """Tests that did not fail the way untouched stubs should: NotImplementedError, or a file not submitted."""
    tests = graded_tests(results)
    if not tests:
        return ["no test ran"]
    return [f"{t['name']}: {(t['output'] or 'passed').splitlines()[0][:200]}" for t in tests
            if t["status"] == "passed" or not ("NotImplementedError" in t["output"] or MISSING_FILE in t["output"])]


def check_student_zip(plan: Plan, zip_path: Path, workdir: Path, with_reference: bool) -> Check:
    """Unzip student.zip and run the handout's command: on the stubs, or with the reference dropped in."""
    label = "with the reference dropped in" if with_reference else "on the stubs"
    check = Check(f"student.zip: `pytest` {label}")
    unpack(zip_path, workdir, executables=True)
    folder = workdir / plan.name
    if with_reference:
        place(reference_files(plan), folder)
    results_path = workdir / "results.json"
    run = subprocess.run([*pytest_command(), "-q", "--no-header", f"--results={results_path}"], cwd=folder,
                         env=student_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         stdin=subprocess.DEVNULL)
    results = load_results(results_path)
    tail = "\n".join(run.stdout.strip().splitlines()[-15:])
    expected = 0 if with_reference else 1
    if run.returncode != expected or not results:
        check.problems.append(f"`pytest` in the unzipped {plan.name}/ ended with exit status {run.returncode}, "
                              f"not {expected} (2 means collection errors):\n{tail}")
    elif with_reference and results["score"] != results["max_score"]:
        failed = [t["name"] for t in graded_tests(results) if t["status"] != "passed"]
        check.problems.append(f"the reference fails public tests in the unzipped folder: {', '.join(failed[:5])}")
    elif not with_reference:
        check.problems += [f"on the stubs, {line}" for line in failed_cleanly(results)]
    if results:
        check.detail = f"{len(results['tests'])} public tests, {results['score']:g} / {results['max_score']:g} points"
    return check


def check_gradescope(plan: Plan, zip_path: Path, workdir: Path, submission: dict[str, Path | str],
                     full_marks: bool) -> Check:
    """Unpack autograder.zip as Gradescope lays it out, run run_autograder, read results/results.json."""
    label = "the reference gets full marks" if full_marks else "the stubs get zero"
    check = Check(f"autograder.zip: {label}")
    root = workdir / "autograder"
    unpack(zip_path, root / "source", executables=True)
    place(submission, root / "submission")
    (root / "results").mkdir()
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=root, stdin=subprocess.DEVNULL,
                         env=pytest_env(("PYTHONPATH",), AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = load_results(root / "results" / "results.json")
    total = sum(plan.config.questions[q].points for q in plan.questions)
    if run.returncode != 0 or not results:
        tail = "\n".join(run.stdout.strip().splitlines()[-15:])
        check.problems.append(f"run_autograder ended with exit status {run.returncode} and no results.json:\n{tail}")
        return check
    check.detail = f"{results['score']:g} / {results['max_score']:g} points, {len(results['tests'])} tests"
    if results["max_score"] != total:
        check.problems.append(f"results.json gives {results['max_score']:g} points in all, not the assignment's {total:g}")
    if full_marks and results["score"] != total:
        failed = [f"{t['name']}: {t['output'].splitlines()[0][:160] if t['output'] else ''}"
                  for t in graded_tests(results) if t["status"] != "passed"]
        check.problems.append("the reference loses points: " + ("; ".join(failed[:5]) or results.get("output", "")))
    if not full_marks:
        check.problems += [f"the stubs: {line}" for line in failed_cleanly(results)]
    return check


# -- test power --------------------------------------------------------------------------------------
def power_groups(questions: list[str], jobs: int) -> list[list[str]]:
    """Questions shared among `jobs` mutation processes, largest hidden tests first, to even out the work."""
    weight = {q: sum(p.stat().st_size for p in question_test_files([q], ("hidden",))) for q in questions}
    groups: list[list[str]] = [[] for _ in range(min(jobs, len(questions)))]
    for question in sorted(questions, key=weight.get, reverse=True):
        min(groups, key=lambda g: sum(weight[q] for q in g)).append(question)
    return [g for g in groups if g]


def check_power(plan: Plan, questions: list[str], workdir: Path, limit: int | None = None) -> Check:
    """Every hidden test must fail on some mutant; the reference must pass them all when run in process."""
    check = Check(f"test power of {', '.join(questions)}")
    without_hidden = [q for q in questions if not question_test_files([q], ("hidden",))]
    check.problems += [f"{q} has no hidden tests (assignments/{q}/test_hidden.py); the grader needs some."
                       for q in without_hidden]
    measured = [q for q in questions if q not in without_hidden]
    if measured:
        check.power = measure_test_power(measured, workdir, plan.config_path, plan.reference_checkpoints(),
                                         limit or MUTANTS_PER_QUESTION)
    for report in check.power:
        if report.problem:
            check.problems.append(f"{report.question}: {report.problem}")
        elif report.failures.get("reference"):
            check.problems.append(f"{report.question}: the reference fails hidden tests when run in the test "
                                  f"process, so they cannot be measured: {', '.join(report.failures['reference'])}")
        elif report.unkilled_tests:
            check.problems.append(f"{report.question}: these hidden tests fail on no mutant of the reference "
                                  f"({report.total} tried), so they cannot tell a wrong answer from a right one: "
                                  f"{', '.join(report.unkilled_tests)}")
    return check


def power_table(reports: list[MutationReport], limit: int | None = None) -> str:
    """Mutation score per question, and the surviving mutants staff should look at."""
    lines = [f"test power: hidden tests against mutants of the reference ({limit or MUTANTS_PER_QUESTION} per question at "
             "most, sampled with the question id as seed; constants off by one, swapped operators, dropped "
             "arguments)"]
    for r in reports:
        killed = len(r.tested) - len(r.survivors)
        lines.append(f"  {r.question:<18} {killed:>3} / {len(r.tested):<3} mutants killed ({r.score:.0%}); "
                     f"{r.total} generated; {len(r.tests) - len(r.unkilled_tests)} of {len(r.tests)} hidden tests "
                     "kill at least one")
        for mutant in r.survivors:
            why = "" if mutant.name in r.reached else "  [no hidden test runs this line]"
            lines.append(f"      survivor {mutant.label()}{why}")
    return "\n".join(lines)
