"""results.json as Gradescope reads it: the spec's schema, shares that add up, the staff-only sandbox entry."""
import json
import re
import shutil
from decimal import Decimal
from types import SimpleNamespace

import jsonschema
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.course.layout import question_test_files
from autograder.models.data import CLASSES
from autograder.batches.forkserver import ForkServers
from autograder.batches.grade import EXAMPLES, grade_one
from autograder.sandbox.isolation import NAMESPACES, NONE, USERS, Level, detect_level
from autograder.models.references import ensure_reference_checkpoints
from autograder.grading.plugin import SANDBOX_KEY, sandbox_level
from autograder.grading.results import SANDBOX_TEST_NAME, TestOutcome, feedback_markdown, gradescope_results, shares
from assignments.accuracy_checks import confusion_text
from gradescope_schema import GRADESCOPE_RESULTS, KIT_RESULTS

UNIT_QUESTIONS = ["q2_relu", "q8_output_size"]
MODEL_QUESTION = "q6_lenet"
USERS_LEVEL = Level(USERS, "root, but Linux namespaces are refused", "run the container with --privileged")


def problems(results: dict, schema: dict = KIT_RESULTS) -> list[str]:
    """Where results breaks the schema, one line each ([] when it conforms)."""
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(results)]


def as_decimals(results: dict) -> dict:
    """results.json read as Gradescope reads its text: every number exactly as written."""
    return json.loads(json.dumps(results), parse_float=Decimal, parse_int=Decimal)


def one_question_config(points: float, hidden_visibility: str = "after_published"):
    """The part of a GradingConfig that results.py reads, for a question q1 worth `points`."""
    return SimpleNamespace(questions={"q1": SimpleNamespace(points=points, title="A question")},
                           hidden_visibility=hidden_visibility)


def outcomes_of(weights: list[float], passed: list[bool]) -> list[TestOutcome]:
    return [TestOutcome("q1", f"test_{i}", weight, i % 2 == 0, "passed" if ok else "failed", "" if ok else "wrong")
            for i, (weight, ok) in enumerate(zip(weights, passed))]


def sample_results() -> dict:
    """A results.json as the plugin writes it: two questions, a leaderboard, the sandbox level."""
    config = load_config(DEFAULT_CONFIG)
    outcomes = [TestOutcome("q8_output_size", "test_a", 2, True, "passed"),
                TestOutcome("q8_output_size", "test_b", 1, False, "failed", "expected 3, got 4"),
                TestOutcome("q6_lenet", "test_c", 4, True, "passed", report="class  accuracy\nplane  90.0%")]
    return gradescope_results(outcomes, config, ["q8_output_size", "q6_lenet"], 12.345, ["Used q8_output_size.py."],
                              [{"name": "LeNet acc", "value": 0.9}], USERS_LEVEL)


# -- shares: one rule for score and max_score --------------------------------------------------------------
points_in_hundredths = st.integers(0, 20_000).map(lambda n: n / 100)
weights = st.lists(st.sampled_from([0.5, 1, 1, 1, 2, 3, 4, 7, 0.25, 1.5, 10]), min_size=1, max_size=40)


@settings(max_examples=300)
@given(points=points_in_hundredths, weights=weights)
def test_shares_are_hundredths_that_add_up_to_the_points_exactly(points, weights):
    parts = shares(points, weights)
    assert sum(parts) == Decimal(repr(points))
    assert all(part >= 0 and part == part.quantize(Decimal("0.01")) for part in parts)
    exact = [Decimal(repr(points)) * Decimal(repr(w)) / Decimal(repr(sum(weights))) for w in weights]
    assert all(abs(part - quota) < Decimal("0.01") for part, quota in zip(parts, exact)), (parts, exact)


def test_equal_weights_get_equal_shares_and_the_leftover_hundredths_go_to_the_first_tests():
    assert shares(10, [1, 1, 1]) == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert shares(80, [1] * 9) == [Decimal("8.89")] * 8 + [Decimal("8.88")]
    assert shares(30, [4, 3, 2, 2]) == [Decimal("10.91"), Decimal("8.18"), Decimal("5.46"), Decimal("5.45")]
    assert shares(0.125, [1, 1]) == [Decimal("0.063"), Decimal("0.062")]  # finer steps for finer points


@settings(max_examples=200)
@given(points=points_in_hundredths, weights=weights, data=st.data())
def test_results_json_tests_add_up_to_the_question_and_a_full_pass_to_its_points(points, weights, data):
    passed = data.draw(st.lists(st.booleans(), min_size=len(weights), max_size=len(weights)))
    config = one_question_config(points)
    results = as_decimals(gradescope_results(outcomes_of(weights, passed), config, ["q1"], 1.0, []))
    tests, question = results["tests"], results["extra_data"]["questions"]["q1"]
    assert sum(t["max_score"] for t in tests) == question["max_score"] == Decimal(repr(points))
    assert sum(t["score"] for t in tests) == question["score"] == results["score"]
    full = as_decimals(gradescope_results(outcomes_of(weights, [True] * len(weights)), config, ["q1"], 1.0, []))
    assert full["score"] == full["max_score"] == Decimal(repr(points))


# -- the schema itself --------------------------------------------------------------------------------------
def test_results_as_the_plugin_writes_them_conform_to_the_spec_and_the_kit_schema():
    results = sample_results()
    assert problems(results, GRADESCOPE_RESULTS) == []
    assert problems(results) == []


WRONG = {
    "no output_format": lambda r: r.pop("output_format"),
    "Markdown test outputs": lambda r: r.update(test_output_format="md"),
    "a test without max_score": lambda r: r["tests"][0].pop("max_score"),
    "a score as text": lambda r: r["tests"][0].update(score="1.5"),
    "a status Gradescope does not know": lambda r: r["tests"][0].update(status="error"),
    "a misspelt field": lambda r: r["tests"][0].update(max_points=2),
    "a visibility Gradescope does not know": lambda r: r["tests"][0].update(visibility="staff"),
    "the staff entry worth points": lambda r: r["tests"][-1].update(score=0.0, max_score=0.0),
    "the staff entry shown to students": lambda r: r["tests"][-1].update(visibility="visible"),
    "a leaderboard name too long for a column": lambda r: r["leaderboard"][0].update(name="LeNet accuracy (%)"),
    "a leaderboard entry without a value": lambda r: r["leaderboard"][0].pop("value"),
    "no per-question totals": lambda r: r["extra_data"].pop("questions"),
    "an unknown sandbox level": lambda r: r["extra_data"]["sandbox"].update(level="chroot"),
}


@pytest.mark.parametrize("wrong", WRONG, ids=list(WRONG))
def test_the_schema_rejects_a_results_json_with(wrong):
    results = sample_results()
    WRONG[wrong](results)
    assert problems(results), f"the schema accepted results.json with {wrong}"


# -- the sandbox level: for staff, never for students -------------------------------------------------------
def test_the_sandbox_level_is_a_hidden_pointless_test_and_extra_data_but_not_in_feedback():
    results = sample_results()
    staff = [t for t in results["tests"] if t["name"] == SANDBOX_TEST_NAME]
    assert staff == [{"name": SANDBOX_TEST_NAME, "visibility": "hidden", "output": staff[0]["output"]}]
    assert staff[0]["output"].startswith(USERS_LEVEL.describe()) and USERS_LEVEL.fix in staff[0]["output"]
    assert results["extra_data"]["sandbox"] == {"level": USERS, "reason": USERS_LEVEL.reason}
    feedback = feedback_markdown(results, "alice")
    assert SANDBOX_TEST_NAME not in feedback and "sandbox" not in feedback.lower()
    assert "2 of 3 tests passed" in feedback


def plugin_config(isolation: dict | None):
    """What sandbox_level reads of a pytest config: the stash, holding a sandbox if one was started."""
    return SimpleNamespace(stash={} if isolation is None else {SANDBOX_KEY: SimpleNamespace(isolation=isolation)})


def test_the_level_comes_from_the_worker_when_a_sandbox_ran_and_from_the_machine_otherwise():
    assert sandbox_level(plugin_config(None)) == detect_level()
    assert sandbox_level(plugin_config({"level": detect_level().name, "reason": ""})) == detect_level()
    weaker = NONE if detect_level().name != NONE else USERS
    reported = sandbox_level(plugin_config({"level": weaker, "reason": "the worker could not drop its user"}))
    assert (reported.name, reported.reason) == (weaker, "the worker could not drop its user") and reported.fix
    assert sandbox_level(plugin_config({"level": NAMESPACES, "reason": "x"})).fix == ""


# -- the confusion matrix as text ------------------------------------------------------------------------------
def test_the_confusion_matrix_text_names_every_class_and_right_aligns_each_count_under_its_class():
    confusion = np.arange(100).reshape(10, 10) * 11111  # counts up to 1099989: wider than any class name
    text = confusion_text(confusion, CLASSES)
    assert confusion_rows(text) == {name: row for name, row in zip(CLASSES, confusion.tolist())}
    column_ends = [[m.end() for m in re.finditer(r"\S+", line)][-len(CLASSES):] for line in text.splitlines()]
    assert all(ends == column_ends[0] for ends in column_ends), text


# -- whole results.json files from real grading ---------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """results.json and feedback.md of real grading runs, by case: a normal submission (perfect and partly wrong),
    a broken grading run (broken_results), and the reference of a model question with its leaderboard."""
    config = load_config(DEFAULT_CONFIG)
    ensure_reference_checkpoints(config, config.checkpoint_models([MODEL_QUESTION]), torch.device("cpu"))
    out = tmp_path_factory.mktemp("graded")
    reference = out / "sources" / "reference"  # the reference q6, with its trained checkpoints
    reference.mkdir(parents=True)
    for name in [f"{MODEL_QUESTION}.py", *config.questions[MODEL_QUESTION].checkpoints]:
        shutil.copy(KIT_ROOT / "solutions" / name, reference)
    runs = {
        "perfect": (EXAMPLES / "perfect", UNIT_QUESTIONS, question_test_files(UNIT_QUESTIONS)),
        "partly_wrong": (EXAMPLES / "partly_wrong", UNIT_QUESTIONS, question_test_files(UNIT_QUESTIONS)),
        "broken": (EXAMPLES / "perfect", UNIT_QUESTIONS, [out / "test_that_does_not_exist.py"]),
        "model": (reference, [MODEL_QUESTION], [KIT_ROOT / "assignments" / MODEL_QUESTION / "test_public_accuracy.py"]),
    }
    with ForkServers(1) as servers:
        graded = {name: grade_one(source, name, out, config, DEFAULT_CONFIG, questions, [str(t) for t in tests],
                                  servers) for name, (source, questions, tests) in runs.items()}
    return {name: (json.loads((out / name / "results.json").read_text()), (out / name / "feedback.md").read_text(),
                   g.status) for name, g in graded.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", ["perfect", "partly_wrong", "broken", "model"])
def test_graded_results_json_conforms_to_gradescopes_spec(graded, case):
    assert problems(graded[case][0], GRADESCOPE_RESULTS) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", ["perfect", "partly_wrong", "model"])
def test_graded_results_json_conforms_to_the_kit_schema(graded, case):
    results, _, status = graded[case]
    assert status == "ok"
    assert problems(results) == []


@pytest.mark.slow
def test_broken_results_json_conforms_to_the_kit_schema(graded):
    results, _, status = graded["broken"]
    assert status != "ok" and "could not be graded" in results["output"]
    assert problems(results) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", ["perfect", "partly_wrong", "model"])
def test_graded_tests_add_up_to_each_question_exactly(graded, case):
    results = as_decimals(graded[case][0])
    for qid, question in results["extra_data"]["questions"].items():
        tests = [t for t in results["tests"] if t["name"].startswith(f"{qid} ›")]
        assert sum(t["max_score"] for t in tests) == question["max_score"], qid
        assert sum(t["score"] for t in tests) == question["score"], qid
    assert sum(q["score"] for q in results["extra_data"]["questions"].values()) == results["score"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["perfect", "model"])
def test_a_full_pass_gets_exactly_the_points(graded, case):
    results = as_decimals(graded[case][0])
    config = load_config(DEFAULT_CONFIG)
    points = sum(Decimal(repr(config.questions[q].points)) for q in results["extra_data"]["questions"])
    assert results["score"] == results["max_score"] == points


@pytest.mark.slow
@pytest.mark.parametrize("case", ["perfect", "partly_wrong", "model"])
def test_graded_results_carry_the_sandbox_level_for_staff_only(graded, case):
    results, feedback, _ = graded[case]
    staff = [t for t in results["tests"] if t["name"] == SANDBOX_TEST_NAME]
    assert len(staff) == 1 and staff[0]["visibility"] == "hidden" and "score" not in staff[0]
    level = results["extra_data"]["sandbox"]["level"]
    assert staff[0]["output"].startswith(f"sandbox level: {level} (")
    assert SANDBOX_TEST_NAME not in feedback and "sandbox level" not in feedback


@pytest.mark.slow
def test_the_model_question_reports_its_tables_as_text_and_short_leaderboard_names(graded):
    results, feedback, _ = graded["model"]
    assert {e["name"] for e in results["leaderboard"]} == {"LeNet acc", "SimpleNN acc"}  # q6's models.yml
    assert all(0 <= e["value"] <= 1 for e in results["leaderboard"])
    reports = [t["output"] for t in results["tests"] if "_reaches_" in t["name"]]  # the tests that measure a model
    assert reports and all(".png" not in text for text in reports)
    for text in reports:
        matrix = confusion_rows(text)
        examples = {line.split()[0]: int(line.split()[2]) for line in text.splitlines()  # the per-class table
                    if line.split()[:1] and line.split()[0] in CLASSES and "%" in line}
        assert set(matrix) == set(CLASSES) == set(examples), text
        assert all(sum(matrix[name]) == examples[name] for name in CLASSES), text
    assert confusion_rows(feedback)  # feedback.md shows the same text


def confusion_rows(text: str) -> dict[str, list[int]]:
    """The confusion matrix in a test's output: its header names every class in order, then a row per class."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == list(CLASSES))
    rows = [line.split() for line in lines[header + 1:header + 1 + len(CLASSES)]]
    assert [row[0] for row in rows] == list(CLASSES)
    return {row[0]: [int(n) for n in row[1:]] for row in rows}
