"""The generator: one master per question makes the solution and the stub; copies never drift."""
import ast
import textwrap

import pytest

from autograder.course.generator import build, generated_files
from autograder.course.layout import master_file
from autograder.course.markers import MarkerError
from autograder.course.wrong_answers import with_wrong_answers

MASTER = textwrap.dedent('''
    """Statement."""
    import math

    LIMIT = 3  # SOLUTION


    def area(r):
        """Docstring stays."""
        # BEGIN SOLUTION
        return math.pi * r ** 2
        # END SOLUTION


    class Net:
        def forward(self, x):
            y = x + 1  # SOLUTION
            # BEGIN SOLUTION
            return y
            # END SOLUTION
''')


def test_solution_keeps_the_code_and_drops_the_markers():
    solution = build(MASTER, sanitize=False)
    assert "BEGIN SOLUTION" not in solution and "# SOLUTION" not in solution
    assert "return math.pi * r ** 2" in solution and "LIMIT = 3\n" in solution
    ast.parse(solution)


def test_stub_raises_not_implemented_naming_the_function():
    stub = build(MASTER, sanitize=True)
    ast.parse(stub)
    assert "math.pi" not in stub and "return y" not in stub
    assert 'raise NotImplementedError("area: not implemented yet' in stub
    assert 'raise NotImplementedError("Net.forward: not implemented yet' in stub
    assert '"""Docstring stays."""' in stub


def test_marked_lines_become_ellipsis_keeping_the_assigned_name():
    stub = build(MASTER, sanitize=True)
    assert "LIMIT = ...\n" in stub
    assert "        y = ...\n" in stub


@pytest.mark.parametrize("source, message", [
    ("# END SOLUTION\n", r"master.py:1: # END SOLUTION without a # BEGIN SOLUTION"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", r"master.py:2: # BEGIN SOLUTION is never closed"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n", r"master.py:3: # BEGIN SOLUTION inside the region "
                                                              r"opened at line 2"),
])
def test_bad_markers_are_errors_with_a_line_number(source, message):
    with pytest.raises(MarkerError, match=message):
        build(source, sanitize=True, name="master.py")


def test_committed_generated_files_match_the_masters():
    stale = [str(p) for p, text in generated_files().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"out of date (run `autograder build` and commit): {stale}"


def test_every_question_in_the_config_has_a_master_and_tests():
    from autograder.course.config import KIT_ROOT, load_config
    for qid in load_config().questions:
        assert (KIT_ROOT / "assignments" / qid / "master.py").exists(), qid
        assert (KIT_ROOT / "assignments" / qid / "test_public.py").exists(), qid
        assert (KIT_ROOT / "assignments" / qid / "test_hidden.py").exists(), qid


def test_a_wrong_answer_example_names_an_unknown_wrong_answer_and_the_file():
    solution = build(master_file("q8_output_size").read_text(), sanitize=False)
    assert with_wrong_answers(solution, "q8_output_size", ["ceil_mode_ignored"]) != solution
    with pytest.raises(ValueError, match=r"assignments/q8_output_size/wrong_answers.yml has no wrong answer "
                                         r"named ceil_mode_forgotten; its wrong answers are ceil_mode_ignored, "):
        with_wrong_answers(solution, "q8_output_size", ["ceil_mode_forgotten"])
