"""The Otter notebook track: a master notebook in Otter Assign's format, `otter assign`, and `otter run` checks.

In the notebook each question is a `%%question <id>` cell (the master file's code, solution markers
and all, run as module <id>), and each kit test is an Otter test case that runs that test through
pytest in the notebook's own process (autograder.grading.notebook, autograder.grading.inprocess).
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from autograder.course.config import KIT_ROOT
from autograder.course.layout import master_file, question_test_files
from autograder.grading.results import shares

OTTER_TEST = '''""" # BEGIN TEST CONFIG
points: {points}
hidden: {hidden}
""" # END TEST CONFIG
def {function}(env):
    from autograder.grading.notebook import kit_test
    kit_test(env, {question!r}, {test!r})'''
SETUP_CELL = '''# Run this cell first: it loads the course kit (the kit/ folder next to this notebook), which
# provides the %%question cells below and runs the tests behind grader.check.
import os, sys
sys.path.insert(0, os.path.abspath("kit"))
import autograder.grading.notebook'''


# -- building the notebook ---------------------------------------------------------------------------
def _cell(kind: str, source: str) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def master_notebook(plan, tests: list[dict], files: list[str], hidden_files: list[str]) -> dict:
    """The master notebook: config, set-up, then per question its statement, code and test cases.

    tests: {"question", "test" (file::name), "points", "public"} for every graded test.
    """
    from autograder.release.handout import statement

    config = {"name": plan.name, "requirements": "requirements.txt", "files": files,
              "autograder_files": hidden_files, "tests": {"ok_format": False, "files": False},
              "run_tests": False, "export_cell": False, "check_all_cell": False, "init_cell": True,
              "generate": {"pdf": False, "zips": False}}
    cells = [_cell("raw", "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)),
             _cell("markdown", f"# {plan.title}\n\nRun the set-up cell first. Write your code in the "
                               "`%%question` cells (each runs as its own module); `grader.check` runs the "
                               "public tests of a question."),
             _cell("code", SETUP_CELL)]
    for question in plan.questions:
        info = plan.config.questions[question]
        master = master_file(question).read_text()
        cells += [_cell("raw", f"# BEGIN QUESTION\nname: {question}"),
                  _cell("markdown", f"## {question}: {info.title} ({info.points:g} points)\n\n{statement(question)}"),
                  _cell("raw", "# BEGIN SOLUTION"), _cell("code", f"%%question {question}\n{_without_docstring(master)}"),
                  _cell("raw", "# END SOLUTION"), _cell("raw", "# BEGIN TESTS")]
        for number, entry in enumerate(t for t in tests if t["question"] == question):
            cells.append(_cell("code", OTTER_TEST.format(points=entry["points"], hidden=not entry["public"],
                                                         function=_function_name(entry["test"], number),
                                                         question=question,
                                                         test=entry["test"])))
        cells += [_cell("raw", "# END TESTS"), _cell("raw", "# END QUESTION")]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}}


def _function_name(test: str, number: int) -> str:
    """A Python name for the Otter test case of a kit test: test_3_relu_matches_torch_relu_True."""
    name = re.sub(r"\W+", "_", test.split("::")[-1].removeprefix("test_")).strip("_")
    return f"test_{number}_{name}"[:100]


def _without_docstring(source: str) -> str:
    """The master's code without its module docstring (the statement goes to a Markdown cell)."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return "\n".join(source.splitlines()[body[0].end_lineno:]).strip("\n") + "\n"
    return source


# -- the release's Otter checks ----------------------------------------------------------------------
def graded_tests(plan, workdir: Path) -> list[dict]:
    """Every public and hidden test of the assignment, with its share of its question's points."""

    workdir.mkdir(parents=True, exist_ok=True)
    manifest, out = workdir / "collect.json", workdir / "tests.json"
    manifest.write_text(json.dumps({"collect_to": str(out)}))
    files = [str(p) for p in question_test_files(plan.questions)]
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *files, "-p", "autograder.grading.inprocess",
                    f"--in-process={manifest}", f"--rootdir={KIT_ROOT}", f"--grading-config={plan.config_path}",
                    "-p", "no:cacheprovider"], cwd=KIT_ROOT, capture_output=True, check=False)
    tests = json.loads(out.read_text()) if out.exists() else []
    for question in plan.questions:  # the grader's rule (results.shares): the same points per test as results.json
        own = [t for t in tests if t["question"] == question]
        for test, share in zip(own, shares(plan.config.questions[question].points, [t["weight"] for t in own])):
            test["points"] = float(share)
    return tests


def ensure_kernel() -> str | None:
    """Make sure Jupyter can start a `python3` kernel with this Python; say why not if it cannot."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        import ipykernel.kernelspec
    except ImportError as exc:
        return (f"the Otter track needs Jupyter's Python kernel ({exc.name} is not installed): "
                "pip install -e '.[otter]'")
    if "python3" not in KernelSpecManager().find_kernel_specs():
        ipykernel.kernelspec.install(prefix=sys.prefix, kernel_name="python3")
    return None


def build_track(plan, out: Path, workdir: Path) -> tuple[Path, Path, Path]:
    """Write the master notebook and the kit next to it, run `otter assign`; return the student folder,
    the autograder notebook and Otter's autograder zip."""
    from autograder.release.contents import OTTER_ENGINE, kit_files, requirements

    source = workdir / "master"
    public = kit_files(question_test_files(plan.questions, ("public",)), OTTER_ENGINE, plan.loaded)  # no grader-only
    every = kit_files(question_test_files(plan.questions), None, plan.loaded)
    for name, path in every.items():
        (source / "kit" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, source / "kit" / name)
    shutil.copy2(plan.config_path, source / "kit" / "grading.yml")
    shutil.copy2(KIT_ROOT / "pyproject.toml", source / "kit" / "pyproject.toml")
    (source / "requirements.txt").write_text(requirements())
    files = sorted(f"kit/{n}" for n in [*public, "grading.yml", "pyproject.toml"])
    hidden = sorted(f"kit/{n}" for n in every if n not in public)
    notebook = master_notebook(plan, graded_tests(plan, workdir), files, hidden)
    master = source / f"{plan.name}.ipynb"
    master.write_text(json.dumps(notebook, indent=1))
    assigned = out / "otter"
    run = subprocess.run([sys.executable, "-m", "otter", "assign", str(master), str(assigned)], cwd=source,
                         capture_output=True, text=True)
    zips = sorted((assigned / "autograder").glob("*.zip")) if assigned.exists() else []
    if run.returncode != 0 or not zips:
        raise RuntimeError(f"`otter assign` failed (exit status {run.returncode}):\n{run.stdout[-1500:]}{run.stderr[-1500:]}")
    shutil.copy2(master, out / f"{plan.name}-master.ipynb")
    return assigned / "student", assigned / "autograder" / f"{plan.name}.ipynb", zips[-1]


def otter_run(zip_path: Path, notebook: Path, workdir: Path) -> dict:
    """`otter run` (no Docker) of one notebook; its results.json."""
    workdir.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(workdir),
                          "--no-logo", str(notebook)], cwd=workdir, capture_output=True, text=True)
    results = workdir / "results.json"
    if run.returncode != 0 or not results.exists():
        raise RuntimeError(f"`otter run` failed (exit status {run.returncode}):\n{run.stdout[-1500:]}{run.stderr[-1500:]}")
    return json.loads(results.read_text())


def check_otter(plan, out: Path, workdir: Path) -> list:
    """Build the track, scan Otter's student folder for leaks, `otter run` a correct and a wrong notebook."""
    from autograder.release.contents import write_zip
    from autograder.release.checks import Check, leak_scan, reference_files

    checks = [Check("otter: `otter assign`, then `otter run` on the reference notebook (full marks) and on "
                    "Otter's untouched student notebook (zero)")]
    problem = ensure_kernel()
    if problem:
        checks[0].problems.append(problem)
        return checks
    try:
        student, reference, zip_path = build_track(plan, out, workdir)
        scan = write_zip(workdir / "otter-student.zip", {str(p.relative_to(student)): p
                                                         for p in sorted(student.rglob("*")) if p.is_file()})
        checks.append(Check("otter: Otter's student folder holds no solution code, hidden tests or checkpoints",
                            leak_scan(scan)))
        extra = {n: f for n, f in reference_files(plan).items() if n not in {f"{q}.py" for q in plan.questions}}
        correct = otter_run(zip_path, _submission(reference, extra, workdir / "correct.zip"), workdir / "correct")
        wrong = otter_run(zip_path, _submission(student / f"{plan.name}.ipynb", extra, workdir / "wrong.zip"),
                          workdir / "wrong")
    except RuntimeError as exc:
        checks[0].problems.append(str(exc))
        return checks
    total = sum(plan.config.questions[q].points for q in plan.questions)
    scores = {"correct": _per_question(correct), "wrong": _per_question(wrong)}
    got = {kind: sum(s.values()) for kind, s in scores.items()}
    checks[0].detail = f"{got['correct']:g} and {got['wrong']:g} of {total:g} points"
    if abs(got["correct"] - total) > 1e-3:
        lost = {q: s for q, s in scores["correct"].items() if abs(s - plan.config.questions[q].points) > 1e-3}
        checks[0].problems.append(f"the reference notebook loses points: {lost}; {_failures(correct)}")
    scored = {q: s for q, s in scores["wrong"].items() if s > 0}
    if scored:
        checks[0].problems.append(f"the untouched student notebook scores points, so some tests pass on stubs: "
                                  f"{scored}")
    return checks


def _submission(notebook: Path, extra: dict, path: Path) -> Path:
    """The notebook alone, or zipped with the files it needs beside it (checkpoints, earlier questions)."""
    from autograder.release.contents import write_zip

    return write_zip(path, {notebook.name: notebook, **extra}) if extra else notebook


def _per_question(results: dict) -> dict[str, float]:
    """Otter's results.json: one entry per question (and a "Public Tests" summary without a score)."""
    return {t["name"]: float(t["score"]) for t in results.get("tests", []) if t.get("score") is not None}


def _failures(results: dict) -> str:
    return "; ".join(f"{t['name']}: {str(t.get('output', ''))[:300]}" for t in results.get("tests", [])
                     if (t.get("score") or 0) < (t.get("max_score") or 0))[:2000]
