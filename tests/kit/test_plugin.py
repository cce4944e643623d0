"""The pytest plugin: the grading profile, which question a test grades, and student feedback."""
import sys
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from autograder.sandbox import errors
from autograder.course.config import HypothesisSettings, load_config
from autograder.grading.plugin import feedback_text, grading_profile, question_of

if sys.version_info < (3, 11):  # Hypothesis's dependency there
    from exceptiongroup import ExceptionGroup


def test_the_grading_profile_is_active_even_when_ci_is_set():
    active = settings.default
    assert active.max_examples == load_config().hypothesis.max_examples
    assert active.derandomize and active.database is None and active.deadline is None
    assert not active.print_blob
    assert Phase.shrink in active.phases


def test_shrink_false_stops_at_the_first_failing_input_and_keeps_the_rest_of_the_profile():
    fast = grading_profile(HypothesisSettings(max_examples=7, shrink=False))
    assert Phase.shrink not in fast.phases and Phase.generate in fast.phases and Phase.explicit in fast.phases
    assert fast.max_examples == 7 and fast.derandomize and fast.database is None


class FakeItem:
    def __init__(self, path):
        self.path = Path(path)


@pytest.mark.parametrize("path, question", [
    ("assignments/q8_output_size/test_public.py", "q8_output_size"),
    ("assignments/q1_conv/test_hidden.py", "q1_conv"),
    ("tests/kit/test_q8_output_size.py", None),
    ("assignments/q8_output_size/checks.py", None),
    ("assignments/test_public.py", None),
])
def test_a_test_grades_the_question_named_by_its_file(path, question):
    assert question_of(FakeItem(path)) == question


def test_feedback_keeps_the_message_and_the_falsifying_example_but_not_pytest_internals():
    error = AssertionError("conv_output_size(7, 3): expected 5, got 4\nassert 4 == 5")
    error.__notes__ = ["Falsifying example: test_x(\n    student=student,\n    dims={'size': 7},\n)",  # what
                       "Explanation:", "    These lines were always and only run by failing test cases:",
                       "        /kit/autograder/sandbox/proxy.py:177",
                       "You can reproduce this example by temporarily adding @reproduce_failure(...)"]  # add_note does
    text = feedback_text(error)
    assert text == "conv_output_size(7, 3): expected 5, got 4\nFalsifying example: test_x(\n    dims={'size': 7},\n)"


def test_feedback_for_sandbox_errors_is_their_message():
    assert feedback_text(errors.CallTimeout("f(1) did not finish")) == "f(1) did not finish"


def test_a_grader_bug_is_not_blamed_on_the_student():
    assert "This is not your fault" in feedback_text(KeyError("oops"))


def test_flaky_student_code_is_explained():
    group = ExceptionGroup("Hypothesis test_x produces unreliable results: Flaky", [AssertionError("got 3")])
    assert feedback_text(group).startswith("Your code did not give the same result when run again")


def test_the_public_tests_apply_no_hypothesis_settings_at_import():
    """A student's run loads the grading profile after collection (Hypothesis costs a second to import, and
    `layers` never needs it); a @settings applied at import would freeze the profile in force before that."""
    public = sorted((Path(__file__).parents[2] / "assignments").glob("*/test_public*.py"))
    assert public
    for path in public:
        assert "@settings" not in path.read_text(), f"{path.name}: use grading.yml's example count instead"
