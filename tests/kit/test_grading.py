"""Grading end to end: the examples, broken and hostile submissions and mutants, in one batch."""
import csv
import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.grade import default_submissions, grade_batch
from mutation import write_mutants

pytestmark = pytest.mark.slow

QUESTION = "q8_output_size"
CALL_SECONDS = 2
GRADESCOPE_TEST_FIELDS = {"name", "score", "max_score", "status", "output", "visibility"}


def hostile_copy(root: Path, name: str, body: str) -> Path:
    """The reference solution with conv_output_size's body replaced by `body`."""
    source = (KIT_ROOT / "solutions" / f"{QUESTION}.py").read_text()
    start = source.index("def conv_output_size(")
    end = source.index("\ndef ", start + 1)
    signature = source[start:source.index(":\n", start) + 2]
    folder = root / name
    folder.mkdir()
    (folder / f"{QUESTION}.py").write_text(source[:start] + signature + f"    import os\n    {body}\n\n" + source[end:])
    return folder


def nested_zip(root: Path) -> Path:
    """The perfect example zipped inside two folders, plus a stray older copy deeper down."""
    path = root / "alice.zip"
    perfect = (KIT_ROOT / "examples" / "submissions" / "perfect" / f"{QUESTION}.py").read_text()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"alice/homework/{QUESTION}.py", perfect)
        archive.writestr(f"alice/homework/old/{QUESTION}.py", "this file is not Python\n")
        archive.writestr(f"__MACOSX/alice/._{QUESTION}.py", "resource fork junk")
    return path


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    settings["limits"]["call_seconds"] = CALL_SECONDS
    config_path = root / "grading.yml"
    config_path.write_text(yaml.safe_dump(settings))
    sources = [*default_submissions(), nested_zip(root),
               hostile_copy(root, "loops_forever", "while True:\n        pass"),
               hostile_copy(root, "exits", "os._exit(0)")]
    mutants = write_mutants(QUESTION, root / "mutants")
    graded = grade_batch(sources + mutants, root / "graded", load_config(config_path), config_path, [QUESTION],
                         jobs=2)
    return {g.name: g for g in graded}, root / "graded", [m.name for m in mutants]


def outputs(graded) -> dict[str, str]:
    return {t["name"]: t["output"] for t in graded.results["tests"] if t["status"] == "failed"}


def test_every_submission_gets_gradescope_results_feedback_and_a_gradebook_row(batch):
    graded, out, _ = batch
    rows = {row["submission"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert set(rows) == set(graded)
    for name, g in graded.items():
        results = json.loads((out / name / "results.json").read_text())
        assert {"score", "max_score", "execution_time", "tests"} <= set(results)
        assert results["tests"], f"{name}: no tests in results.json"
        for test in results["tests"]:
            assert GRADESCOPE_TEST_FIELDS <= set(test)
            assert test["status"] in ("passed", "failed")
            assert test["visibility"] in ("visible", "after_published")
        assert (out / name / "feedback.md").read_text().startswith(f"# Feedback: {name}")
        assert float(rows[name]["score"]) == results["score"]
        assert g.status == "ok", f"{name}: {g.status}"
        assert all("internal error" not in text for text in outputs(g).values()), name


def test_the_perfect_example_gets_full_marks(batch):
    graded, _, _ = batch
    perfect = graded["perfect"].results
    assert perfect["score"] == perfect["max_score"] == 10
    assert {t["visibility"] for t in perfect["tests"]} == {"visible", "after_published"}


def test_a_nested_zip_is_found_and_graded_like_a_folder(batch):
    graded, _, _ = batch
    alice = graded["alice"].results
    assert alice["score"] == alice["max_score"]
    assert f"graded alice/homework/{QUESTION}.py; ignored alice/homework/old/{QUESTION}.py" in alice["output"]


def test_the_untouched_stubs_fail_every_test_with_not_implemented(batch):
    graded, _, _ = batch
    stubs = graded["untouched_stubs"].results
    assert stubs["score"] == 0
    for name, text in outputs(graded["untouched_stubs"]).items():
        assert "raised NotImplementedError" in text, name
    assert len(outputs(graded["untouched_stubs"])) == len(stubs["tests"])


def test_a_file_that_does_not_import_scores_zero_with_the_syntax_error(batch):
    graded, _, _ = batch
    broken = graded["does_not_import"]
    assert broken.results["score"] == 0
    for text in outputs(broken).values():
        assert f"importing {QUESTION}.py failed with SyntaxError" in text
        assert f'File "{QUESTION}.py", line' in text


def test_the_partly_wrong_example_loses_some_points_only(batch):
    graded, _, _ = batch
    assert 0 < graded["partly_wrong"].results["score"] < 10


@pytest.mark.parametrize("name, message", [
    ("loops_forever", f"did not finish within {CALL_SECONDS} s"),
    ("exits", "your code ended the process (exit status 0"),
])
def test_a_hostile_function_loses_only_the_tests_that_call_it(batch, name, message):
    graded, _, _ = batch
    failed = outputs(graded[name])
    assert failed, f"{name} lost no test"
    for test, text in failed.items():
        assert message in text, test
        assert re.search(r"conv_output_size|flatten_size", test), f"{test} does not call conv_output_size"
    passed = [t["name"] for t in graded[name].results["tests"] if t["status"] == "passed"]
    assert any("pool" in t for t in passed) and any("receptive" in t for t in passed)


def test_every_mutant_loses_points(batch):
    graded, _, mutants = batch
    assert len(mutants) >= 5
    for mutant in mutants:
        assert graded[mutant].results["score"] < 10, f"mutant {mutant} got full marks"


def test_every_graded_test_fails_on_some_mutant(batch):
    graded, _, mutants = batch
    tests = [t["name"] for t in graded["perfect"].results["tests"]]
    killed = {name for mutant in mutants for name in outputs(graded[mutant])}
    survivors = [t for t in tests if t not in killed]
    assert not survivors, f"these tests fail on no realistic wrong answer: {survivors}"
