"""Every docstring example of every reference solution passes `python -m doctest`: the stubs' examples are true."""
import ast
import doctest
import importlib
import sys
from pathlib import Path

import pytest

from autograder.course.config import KIT_ROOT

SOLUTIONS = KIT_ROOT / "solutions"
STUBS = KIT_ROOT / "student_template"
QUESTIONS = sorted(path.stem for path in SOLUTIONS.glob("q*.py"))


def has_examples(path: Path) -> bool:
    """Whether a docstring of this file (the module's, a class's or a function's) holds a `>>>` example."""
    nodes = [node for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    return any(">>>" in (ast.get_docstring(node) or "") for node in nodes)


@pytest.fixture
def solutions_on_path(monkeypatch):
    """solutions/ first on sys.path, as `python -m doctest solutions/q1_conv.py` has it; the modules imported from
    it leave sys.modules afterwards, so that no later test gets the reference for a student's module."""
    monkeypatch.syspath_prepend(str(SOLUTIONS))
    for question in QUESTIONS:  # a module of that name imported earlier, from elsewhere, comes back afterwards
        monkeypatch.delitem(sys.modules, question, raising=False)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if Path(getattr(sys.modules[name], "__file__", None) or "/").parent == SOLUTIONS:
            del sys.modules[name]


def test_every_question_has_a_reference_and_a_stub():
    assert QUESTIONS and QUESTIONS == sorted(path.stem for path in STUBS.glob("q*.py"))


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_docstring_examples_of_the_reference_pass(question, solutions_on_path):
    module = importlib.import_module(question)
    assert Path(module.__file__).parent == SOLUTIONS, f"{question} was imported from {module.__file__}"
    failed, attempted = doctest.testmod(module, report=True)  # default flags, as `python -m doctest` has them
    assert failed == 0, f"{failed} of {attempted} docstring examples of solutions/{question}.py fail (printed " \
                        f"above); fix them in assignments/{question}.py, then run `autograder build`"
    if has_examples(STUBS / f"{question}.py"):
        assert attempted > 0, f"student_template/{question}.py shows examples, but doctest ran none"
