"""Mutant submissions: the reference solution with the line edits listed in assignments/<question>/wrong_answers.yml."""
from pathlib import Path

import yaml

from autograder.course.generator import build
from autograder.course.layout import master_file, shown, wrong_answers_file


def apply_edits(source: str, edits: list[dict], where: str) -> str:
    """Replace each edit's `line` (stripped, found exactly once) and `count - 1` lines after it by `to`."""
    lines = source.splitlines()
    for edit in edits:
        found = [i for i, line in enumerate(lines) if line.strip() == edit["line"]]
        if len(found) != 1:
            raise ValueError(f"{where}: the line {edit['line']!r} is in the solution {len(found)} times, "
                             "not once; update the mutant to the current solution.")
        start = found[0]
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        new = [indent + text if text else text for text in edit["to"].splitlines()] if edit["to"] else []
        lines[start:start + edit.get("count", 1)] = new
    return "\n".join(lines) + "\n"


def write_mutants(question: str, into: Path) -> list[Path]:
    """Write one submission folder per mutant of `question` under `into`; return the folders."""
    specs = yaml.safe_load(wrong_answers_file(question).read_text())
    solution = build(master_file(question).read_text(), sanitize=False)
    folders = []
    for name, spec in specs.items():
        folder = into / name
        folder.mkdir(parents=True)
        text = apply_edits(solution, spec["edits"], f"{shown(wrong_answers_file(question))}: {name}")
        (folder / f"{question}.py").write_text(f"# Mutant: {spec['mistake']}.\n" + text)
        folders.append(folder)
    return folders
