"""Mutants of a reference solution: simple AST edits of its solution regions, sampled deterministically."""
from __future__ import annotations

import ast
import functools
import json
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.course.config import KIT_ROOT
from autograder.grading.environment import pytest_env
from autograder.course.layout import master_file, question_test_files, shown
from autograder.course.generator import build
from autograder.course.markers import parse

MUTANTS_PER_QUESTION = 40   # a deterministic sample when a question has more mutation sites
BINARY_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
                ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.MatMult: ast.Mult, ast.BitAnd: ast.BitOr,
                ast.BitOr: ast.BitAnd}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BOOL_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}


@dataclass(frozen=True)
class Mutant:
    question: str
    name: str          # m001, m002, ... in order of position in the master file
    line: int          # line of the edit in assignments/<question>/master.py
    change: str        # e.g. "`x > 0` -> `x >= 0`"
    solution: str      # the mutated reference solution, markers dropped
    site: tuple[int, int] | None = None   # its lines in the solution file, if inside a function body

    def label(self) -> str:
        return f"{self.name} (assignments/{self.question}/master.py:{self.line}: {self.change})"


def solution_lines(master: str) -> set[int]:
    """Line numbers (1-based) of the master that students write: inside regions, or marked `# SOLUTION`."""
    return {line.number for line in parse(master) if line.solution}


def _function_bodies(tree: ast.AST) -> list[tuple[int, int]]:
    return [(n.body[0].lineno, n.end_lineno) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _solution_numbering(master: str) -> list[int]:
    """For each master line (1-based index), its line number in the solution (marker lines are dropped)."""
    numbers, dropped = [0], 0
    for line in parse(master):
        dropped += line.kind in ("begin", "end")
        numbers.append(line.number - dropped)
    return numbers


def _replacements(node: ast.AST) -> list[tuple[ast.AST | str, str]]:
    """(mutated node or literal text, kind of edit) for one node; [] when no operator applies."""
    def copy_with(**fields):
        mutated = ast.parse(ast.unparse(node), mode="eval").body  # a detached deep copy
        for name, value in fields.items():
            setattr(mutated, name, value)
        return mutated

    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return [(repr(node.value + 1), "constant + 1"), (repr(node.value - 1), "constant - 1")]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
        return [(copy_with(op=BINARY_SWAPS[type(node.op)]()), "swapped operator")]
    if isinstance(node, ast.BoolOp):
        return [(copy_with(op=BOOL_SWAPS[type(node.op)]()), "swapped operator")]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        return [(ast.unparse(node.operand), "dropped operator")]
    if isinstance(node, ast.Compare):
        return [(copy_with(ops=[*node.ops[:i], COMPARE_SWAPS[type(op)](), *node.ops[i + 1:]]), "swapped operator")
                for i, op in enumerate(node.ops) if type(op) in COMPARE_SWAPS]
    if isinstance(node, ast.Call) and not _constructs_exception(node):
        positional = [(copy_with(args=[a for j, a in enumerate(node.args) if j != i]), "dropped argument")
                      for i in range(len(node.args))]
        keywords = [(copy_with(keywords=[k for j, k in enumerate(node.keywords) if j != i]), "dropped argument")
                    for i in range(len(node.keywords))]
        return positional + keywords
    return []


def _constructs_exception(call: ast.Call) -> bool:
    """ValueError(...) and the like: dropping their message changes nothing a test should judge."""
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
    return name.endswith(("Error", "Exception", "Warning"))


def _skipped_spans(tree: ast.AST) -> list[tuple[int, int]]:
    """f-strings (3.11 reports unreliable positions inside them) are left alone."""
    return [(n.lineno, n.end_lineno) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)]


def _edit(lines: list[str], node: ast.AST, text: str) -> str:
    """The master with the node's source segment replaced by text."""
    first, last = node.lineno - 1, node.end_lineno - 1
    head, tail = lines[first][:node.col_offset], lines[last][node.end_col_offset:]
    return "".join(lines[:first] + [head + text + tail] + lines[last + 1:])


def all_mutants(question: str, root: Path = KIT_ROOT) -> list[Mutant]:
    """Every mutant of the question's solution regions, in file order, each compiled and distinct.

    Made once per question (cached). The release makes them before it starts its check threads: CPython
    3.11 can fail ast.parse run in two threads at once ("AST constructor recursion depth mismatch")."""
    return list(_mutants(question, root))


@functools.cache
def _mutants(question: str, root: Path) -> tuple[Mutant, ...]:
    path = master_file(question, root)
    master = path.read_text()
    tree = ast.parse(master)
    editable, lines = solution_lines(master), master.splitlines(keepends=True)
    skipped, bodies, numbering = _skipped_spans(tree), _function_bodies(tree), _solution_numbering(master)
    original = build(master, sanitize=False, name=shown(path, root))
    seen, mutants = {original}, []
    nodes = sorted((n for n in ast.walk(tree) if hasattr(n, "end_lineno") and isinstance(n, ast.expr)),
                   key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
    for node in nodes:
        if not set(range(node.lineno, node.end_lineno + 1)) <= editable:
            continue
        if any(start <= node.lineno and node.end_lineno <= end for start, end in skipped):
            continue
        before = ast.get_source_segment(master, node)
        for replacement, kind in _replacements(node):
            text = replacement if isinstance(replacement, str) else f"({ast.unparse(replacement)})"
            mutated = _edit(lines, node, text)
            try:
                ast.parse(mutated)
            except SyntaxError:
                continue
            solution = build(mutated, sanitize=False, name=shown(path, root))
            if solution in seen:
                continue
            seen.add(solution)
            after = text if isinstance(replacement, str) else ast.unparse(replacement)
            change = f"{kind}: `{_short(before)}` -> `{_short(after)}`"
            in_body = any(start <= node.lineno and node.end_lineno <= end for start, end in bodies)
            site = (numbering[node.lineno], numbering[node.end_lineno]) if in_body else None
            mutants.append(Mutant(question, "", node.lineno, change, solution, site))
    return tuple(Mutant(m.question, f"m{i:03d}", m.line, m.change, m.solution, m.site)
                 for i, m in enumerate(mutants, start=1))


def sample_mutants(question: str, limit: int = MUTANTS_PER_QUESTION, root: Path = KIT_ROOT) -> tuple[list[Mutant], int]:
    """At most `limit` mutants, drawn with a generator seeded by the question id (the same every release).

    Returns the sample (in file order) and how many mutants there were in all.
    """
    every = all_mutants(question, root)
    if len(every) <= limit:
        return every, len(every)
    chosen = sorted(random.Random(question).sample(range(len(every)), limit))
    return [every[i] for i in chosen], len(every)


def _short(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


# -- running the hidden tests against the mutants ------------------------------------------------
@dataclass
class MutationReport:
    question: str
    total: int                          # mutants generated in all
    tested: list[Mutant]                # those that were run: the sample, plus any second-round ones
    failures: dict[str, list[str]]      # "reference" or a mutant name -> the hidden tests it failed
    tests: list[str]                    # the hidden tests
    reached: set[str]                   # mutants whose edited lines some hidden test runs
    problem: str = ""                   # why the run itself failed, if it did

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.tested if not self.failures.get(m.name)]

    @property
    def score(self) -> float:
        return 1 - len(self.survivors) / len(self.tested) if self.tested else 0.0

    @property
    def unkilled_tests(self) -> list[str]:
        killers = {t for m in self.tested for t in self.failures.get(m.name, [])}
        return [t for t in self.tests if t not in killers]


def measure_test_power(questions: list[str], workdir: Path, config_path: Path, checkpoints: list[Path],
                       limit: int = MUTANTS_PER_QUESTION) -> list[MutationReport]:
    """The questions' hidden tests against `limit` sampled mutants each (one pytest process).

    A hidden test that fails on none of them gets a second round against every other mutant of its
    question, stopping at the first that it kills.
    """
    samples = {q: sample_mutants(q, limit) for q in questions}
    first = _run_round(workdir / "sample", {q: s for q, (s, _) in samples.items()}, checkpoints, config_path)
    reports = [MutationReport(q, samples[q][1], samples[q][0], first["failures"].get(q, {}), first["tests"].get(q, []),
                              first["reached"].get(q, set()), first["problem"]) for q in questions]
    unkilled = {r.question: r.unkilled_tests for r in reports if r.unkilled_tests and not r.problem}
    if unkilled:
        rest = {q: [m for m in all_mutants(q) if m.name not in {t.name for t in samples[q][0]}] for q in unkilled}
        second = _run_round(workdir / "rest", rest, checkpoints, config_path,
                            only_tests=[t for tests in unkilled.values() for t in tests])
        for report in reports:
            failures = second["failures"].get(report.question, {})
            killers = [m for m in rest.get(report.question, []) if failures.get(m.name)]
            report.tested += killers  # the survivors of a partial round would say nothing
            report.failures.update({m.name: failures[m.name] for m in killers})
            report.problem = report.problem or second["problem"]
    return reports


def _run_round(workdir: Path, mutants: dict[str, list[Mutant]], checkpoints: list[Path], config_path: Path,
               only_tests: list[str] | None = None) -> dict:
    """One pytest process: the hidden tests on the reference, then on the mutants (see autograder.grading.inprocess)."""
    reference, wire = {}, {}
    for question, sample in mutants.items():
        path = workdir / "reference" / f"{question}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(build(master_file(question).read_text(), sanitize=False))
        reference[question] = str(path)
        for mutant in sample:
            path = workdir / question / mutant.name / f"{question}.py"
            path.parent.mkdir(parents=True)
            path.write_text(mutant.solution)
            wire[f"{question}.{mutant.name}"] = {"question": question, "path": str(path), "site": mutant.site}
    for checkpoint in checkpoints:
        shutil.copy2(checkpoint, workdir / checkpoint.name)
    out, manifest = workdir / "outcomes.json", workdir / "manifest.json"
    manifest.write_text(json.dumps({"reference": reference, "mutants": wire, "out": str(out), "seconds_per_test": 60,
                                    "only_tests": only_tests, "until_killed": only_tests is not None}))
    files = [str(f) for f in question_test_files(list(mutants), ("hidden",))]
    command = [sys.executable, "-m", "pytest", *files, "-q", "--no-header", "-p", "autograder.grading.inprocess",
               f"--in-process={manifest}", f"--grading-config={config_path}", f"--rootdir={KIT_ROOT}",
               "-p", "no:cacheprovider"]
    with open(workdir / "pytest.log", "w") as log:
        code = subprocess.run(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=pytest_env(),
                              stdin=subprocess.DEVNULL).returncode
    result = json.loads(out.read_text()) if out.exists() else {"records": [], "coverage": {}}
    problem = "" if code in (0, 1) and result["records"] else \
        f"the mutation run ended with exit status {code}; its log is {workdir / 'pytest.log'}"
    failures: dict[str, dict[str, list[str]]] = {}
    tests: dict[str, list[str]] = {}
    for record in result["records"]:
        question, variant = record["question"], record["variant"].rsplit(".", 1)[-1]
        tests.setdefault(question, [])
        if record["test"] not in tests[question]:
            tests[question].append(record["test"])
        if record["status"] == "failed":
            failures.setdefault(question, {}).setdefault(variant, []).append(record["test"])
    reached: dict[str, set[str]] = {}
    for question, sample in mutants.items():
        spans = [span for test in tests.get(question, []) for span in result["coverage"].get(test, [])]
        reached[question] = {m.name for m in sample
                             if m.site is None or any(a <= m.site[1] and m.site[0] <= b for a, b in spans)}
    return {"failures": failures, "tests": tests, "reached": reached, "problem": problem}
