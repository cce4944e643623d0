"""Grading end to end: the examples, mutants and alternative solutions (hostile submissions: test_hostile.py)."""
import csv
import json

import pytest
import yaml

from autograder.course.config import DEFAULT_CONFIG, load_config
from autograder.course.alternatives import write_alternatives
from autograder.course.layout import question_ids, question_test_files, wrong_answers_file
from autograder.batches.grade import default_submissions, grade_batch
from autograder.grading.results import graded_tests
from mutation import write_mutants

pytestmark = pytest.mark.slow

QUESTION = "q8_output_size"  # the question the does_not_import and partly_wrong examples break
CALL_SECONDS = 2
# Hypothesis examples per test when grading the wrong answers (the course grades with grading.yml's 40): a wrong
# answer must be caught within the first 10, a stronger demand that costs CI about a quarter less, and its failing
# input is not shrunk (shrinking changes the feedback, not the score); the alternative solutions (which must get
# full marks) meet all 40.
MUTANT_EXAMPLES = 10
GRADESCOPE_TEST_FIELDS = {"name", "score", "max_score", "status", "output", "visibility"}
MUTATED = [qid for qid in question_ids() if wrong_answers_file(qid).exists()]


def write_settings(folder, max_examples=None):
    """grading.yml with a short per-call limit, so hangs cost little (and, if given, max_examples without
    shrinking)."""
    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    settings["limits"]["call_seconds"] = CALL_SECONDS
    if max_examples is not None:
        settings["hypothesis"].update(max_examples=max_examples, shrink=False)
    path = folder / "grading.yml"
    path.write_text(yaml.safe_dump(settings))
    return load_config(path), path


@pytest.fixture(scope="session")
def short_limits(tmp_path_factory):
    return write_settings(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="session")
def mutant_limits(tmp_path_factory):
    return write_settings(tmp_path_factory.mktemp("mutant_config"), MUTANT_EXAMPLES)


@pytest.fixture(scope="session")
def examples(tmp_path_factory, short_limits):
    """The README's main job: the bundled examples, graded on every question."""
    config, path = short_limits
    out = tmp_path_factory.mktemp("examples")
    graded = grade_batch(default_submissions(), out, config, path, list(config.questions), jobs=2, figures=True)
    return {g.name: g for g in graded}, out


@pytest.fixture(scope="session")
def variants(tmp_path_factory, short_limits, mutant_limits):
    """variants[qid]: the question's mutants (must lose points; MUTANT_EXAMPLES) and alternative solutions (must
    not; the course's examples), each alternative composed with the stub (course/alternatives.py), graded on first
    use, so `-k q6` grades only q6's."""
    root = tmp_path_factory.mktemp("variants")

    class Graded(dict):
        def __missing__(self, qid):
            unit_tests = [str(f) for f in question_test_files([qid]) if not f.stem.endswith("_accuracy")]  # variants carry no checkpoints
            self[qid] = {kind: grade_batch(write(qid, root / qid / kind), root / qid / f"graded_{kind}", *limits,
                                           [qid], jobs=2, tests=unit_tests)
                         for kind, write, limits in (("mutants", write_mutants, mutant_limits),
                                                     ("alternatives", write_alternatives, short_limits))}
            return self[qid]
    return Graded()


def outputs(graded) -> dict[str, str]:
    return {t["name"]: t["output"] for t in graded_tests(graded.results) if t["status"] == "failed"}


def test_every_submission_gets_gradescope_results_feedback_and_a_gradebook_row(examples):
    graded, out = examples
    rows = {row["submission"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert set(rows) == set(graded) == {"perfect", "partly_wrong", "untouched_stubs", "does_not_import"}
    for name, g in graded.items():
        results = json.loads((out / name / "results.json").read_text())
        assert {"score", "max_score", "execution_time", "tests"} <= set(results)
        assert results["tests"], f"{name}: no tests in results.json"
        assert len({t["name"] for t in results["tests"]}) == len(results["tests"]), f"{name}: test names repeat"
        for test in graded_tests(results):  # not the staff-only sandbox entry (test_results_format.py)
            assert GRADESCOPE_TEST_FIELDS <= set(test)
            assert test["status"] in ("passed", "failed")
            assert test["visibility"] in ("visible", "after_published")
        assert (out / name / "feedback.md").read_text().startswith(f"# Feedback: {name}")
        assert float(rows[name]["score"]) == results["score"]
        assert g.status == "ok", f"{name}: {g.status}"
        assert all("internal error" not in text for text in outputs(g).values()), name
    assert (out / "scores.png").stat().st_size > 0
    report = (out / "report.html").read_text()  # its content: tests/kit/test_report.py
    assert "<b>4</b> submissions" in report and "perfect" in report  # on the leaderboard


def test_the_perfect_example_gets_full_marks(examples):
    perfect = examples[0]["perfect"].results
    assert perfect["score"] == perfect["max_score"] == sum(q.points for q in load_config().questions.values())
    assert {t["visibility"] for t in graded_tests(perfect)} == {"visible", "after_published"}


def test_the_untouched_stubs_fail_every_test_with_not_implemented(examples):
    stubs = examples[0]["untouched_stubs"]
    assert stubs.results["score"] == 0
    for name, text in outputs(stubs).items():
        assert "raised NotImplementedError" in text, name
    assert len(outputs(stubs)) == len(graded_tests(stubs.results))


def test_a_file_that_does_not_import_scores_zero_with_the_syntax_error(examples):
    broken = examples[0]["does_not_import"]
    assert broken.results["score"] == 0
    for name, text in outputs(broken).items():
        if name.startswith(QUESTION):
            assert f"importing {QUESTION}.py failed with SyntaxError" in text
            assert f'File "{QUESTION}.py", line' in text
        else:
            assert "was not found in your submission" in text, name


def test_the_partly_wrong_example_loses_some_points_only(examples):
    partly_wrong = examples[0]["partly_wrong"].results["extra_data"]["questions"][QUESTION]
    assert 0 < partly_wrong["score"] < partly_wrong["max_score"]


@pytest.mark.parametrize("qid", MUTATED)
def test_every_mutant_loses_points_and_fails_a_hidden_test(variants, qid):
    mutants = variants[qid]["mutants"]
    assert len(mutants) >= 4, f"{qid}: too few mutants"
    for mutant in mutants:
        assert mutant.results["score"] < mutant.results["max_score"], f"{qid} mutant {mutant.name} got full marks"
        hidden_failures = [name for name in outputs(mutant) if " › hidden › " in name]
        assert hidden_failures, f"{qid} mutant {mutant.name} passes every hidden test"


@pytest.mark.parametrize("qid", MUTATED)
def test_every_graded_test_fails_on_some_mutant(variants, qid):
    # the unit tests the mutants ran (accuracy-from-checkpoint tests: tests/kit/test_checkpoints.py)
    tests = sorted({t["name"] for mutant in variants[qid]["mutants"] for t in graded_tests(mutant.results)})
    assert tests
    killed = {name for mutant in variants[qid]["mutants"] for name in outputs(mutant)}
    survivors = [t for t in tests if t not in killed]
    assert not survivors, f"these tests fail on no realistic wrong answer: {survivors}"


@pytest.mark.parametrize("qid", MUTATED)
def test_alternative_solutions_get_full_marks(variants, qid):
    alternatives = variants[qid]["alternatives"]
    assert len(alternatives) >= 2, f"{qid}: fewer than two alternative solutions in assignments/{qid}/alternatives"
    for alternative in alternatives:
        results = alternative.results
        assert results["score"] == results["max_score"], (alternative.name, outputs(alternative))
