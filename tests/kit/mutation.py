"""Mutant submissions: the reference solution with one wrong answer of assignments/<question>/wrong_answers.yml."""
from pathlib import Path

from autograder.course.generator import build
from autograder.course.layout import master_file
from autograder.course.wrong_answers import with_wrong_answers, wrong_answers


def write_mutants(question: str, into: Path) -> list[Path]:
    """Write one submission folder per wrong answer of `question` under `into`; return the folders."""
    solution = build(master_file(question).read_text(), sanitize=False)
    folders = []
    for name, spec in wrong_answers(question).items():
        folder = into / name
        folder.mkdir(parents=True)
        text = with_wrong_answers(solution, question, [name])
        (folder / f"{question}.py").write_text(f"# Mutant: {spec['mistake']}.\n" + text)
        folders.append(folder)
    return folders
