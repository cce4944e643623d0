"""Where a question's files are: one folder per question under assignments/, and the test library beside them.

    assignments/
      __init__.py, conftest.py, checks.py, ...   the library the question tests share
      q8_output_size/                            one question:
        master.py                                  statement + solution with markers (staff only)
        test_public.py, test_public_<topic>.py     tests shipped to students
        test_hidden.py, test_hidden_<topic>.py     tests only the grader runs
        checks.py, strategies.py, oracles.py       what its tests import (oracles: the grader only)
        models.yml                                 a model question's models, recipes and comparisons
        wrong_answers.yml, alternatives/<name>/    the kit's proof that its tests are fair (staff only)
"""
from __future__ import annotations

import re
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]  # the kit: a staff checkout, or an unpacked release zip

QUESTIONS = "assignments"   # the folder of question folders, relative to the kit
SOLUTIONS = KIT_ROOT / "solutions"  # generated reference solutions, and the reference checkpoints
MASTER = "master.py"
WRONG_ANSWERS = "wrong_answers.yml"
ALTERNATIVES = "alternatives"
ORACLES = "oracles.py"      # reference implementations the hidden tests compare with: never in student.zip
MODELS = "models.yml"       # a model question's models: how each is built and trained (course/registry.py)
EXAMPLES = Path("examples") / "submissions"  # the demo submissions `autograder grade` grades by default
EXAMPLE_RECIPES = Path("examples") / "examples.yml"  # which of them the generator makes from wrong answers
TEST_FILE = re.compile(r"^test_(public|hidden)(_\w+)?\.py$")


def questions_folder(root: Path = KIT_ROOT) -> Path:
    return root / QUESTIONS


def question_ids(root: Path = KIT_ROOT) -> list[str]:
    """The questions that have a master file: assignments/<id>/master.py."""
    return sorted(p.parent.name for p in questions_folder(root).glob(f"*/{MASTER}"))


def question_folder(qid: str, root: Path = KIT_ROOT) -> Path:
    return questions_folder(root) / qid


def master_file(qid: str, root: Path = KIT_ROOT) -> Path:
    return question_folder(qid, root) / MASTER


def shown(path: Path, root: Path = KIT_ROOT) -> str:
    """A kit path as staff read it in messages: assignments/q8_output_size/master.py."""
    return path.relative_to(root).as_posix()


def wrong_answers_file(qid: str, root: Path = KIT_ROOT) -> Path:
    return question_folder(qid, root) / WRONG_ANSWERS


def alternative_solutions(qid: str, root: Path = KIT_ROOT) -> list[Path]:
    """The folders of differently written correct solutions, each holding <id>.py: only the definitions a student
    writes into the stub (course/alternatives.py composes the submission from the stub and them)."""
    folder = question_folder(qid, root) / ALTERNATIVES
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def question_test_files(questions: list[str], parts: tuple[str, ...] = ("public", "hidden"),
                        root: Path = KIT_ROOT) -> list[Path]:
    """The test files of these questions, public before hidden: test_<part>.py, then test_<part>_<topic>.py."""
    files = []
    for qid in questions:
        for part in parts:
            folder = question_folder(qid, root)
            files += sorted(folder.glob(f"test_{part}*.py"), key=lambda p: (p.name != f"test_{part}.py", p.name))
    return [p for p in files if TEST_FILE.match(p.name)]


def question_of_test(path: Path) -> str | None:
    """The question a test file grades (the name of its folder), or None for a file outside a question folder."""
    return path.parent.name if TEST_FILE.match(path.name) and path.parent.parent.name == QUESTIONS else None


def is_public_test(path: Path) -> bool:
    match = TEST_FILE.match(path.name)
    return bool(match) and match.group(1) == "public"
