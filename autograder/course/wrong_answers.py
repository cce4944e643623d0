"""Realistic wrong answers: the reference solution with the line edits listed in assignments/<id>/wrong_answers.yml.

The kit grades every one of them (each must lose points; tests/kit/test_grading.py), and the `partly_wrong`
example submission is made of some of them (examples/examples.yml, written by `autograder build`).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from autograder.course.layout import KIT_ROOT, shown, wrong_answers_file


def apply_edits(source: str, edits: list[dict], where: str) -> str:
    """Replace each edit's `line` (stripped, found exactly once) and `count - 1` lines after it by `to`."""
    lines = source.splitlines()
    for edit in edits:
        found = [i for i, line in enumerate(lines) if line.strip() == edit["line"]]
        if len(found) != 1:
            raise ValueError(f"{where}: the line {edit['line']!r} is in the solution {len(found)} times, "
                             "not once; update the wrong answer to the current solution.")
        start = found[0]
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        new = [indent + text if text else text for text in edit["to"].splitlines()] if edit["to"] else []
        lines[start:start + edit.get("count", 1)] = new
    return "\n".join(lines) + "\n"


def wrong_answers(qid: str, root: Path = KIT_ROOT) -> dict[str, dict]:
    """name -> {mistake, edits} of one question's wrong answers (empty if it has none)."""
    path = wrong_answers_file(qid, root)
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def with_wrong_answers(solution: str, qid: str, names: list[str], root: Path = KIT_ROOT) -> str:
    """`solution` (the reference solution of `qid`) with the named wrong answers applied, one after the other."""
    specs = wrong_answers(qid, root)
    where = shown(wrong_answers_file(qid, root), root)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"{where} has no wrong answer named {', '.join(unknown)}; "
                         f"its wrong answers are {', '.join(specs) or 'none'}")
    for name in names:
        solution = apply_edits(solution, specs[name]["edits"], f"{where}: {name}")
    return solution
