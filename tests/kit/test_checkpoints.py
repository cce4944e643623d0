"""Accuracy questions: the reference checkpoints pass, untrained ones fail, broken files are explained."""
import shutil
from pathlib import Path

import pytest
import torch

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.batches.grade import grade_batch
from autograder.models.references import ensure_reference_checkpoints
from autograder.course.registry import load_registry
from autograder.course.layout import SOLUTIONS
from autograder.grading.results import graded_tests
from dask_cluster import grade_on, without_timing

pytestmark = pytest.mark.slow

QUESTIONS = [qid for qid, q in load_config().questions.items() if q.checkpoints]
MODELS = load_config().checkpoint_models(QUESTIONS)
ACCURACY_TESTS = [str(KIT_ROOT / "assignments" / qid / "test_public_accuracy.py") for qid in QUESTIONS]


class CreatesFileWhenUnpickled:
    """A pickle payload: unpickling it calls open(path, "w"), which would leave a file behind."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def submission(root: Path, name: str, checkpoints: dict) -> Path:
    """The reference code of the accuracy questions with the given checkpoint files (name -> writer)."""
    folder = root / name
    folder.mkdir()
    for qid in QUESTIONS:
        shutil.copy(SOLUTIONS / f"{qid}.py", folder)
    for filename, write in checkpoints.items():
        write(folder / filename)
    return folder


def untrained(model_name: str):
    return lambda path: torch.save(load_registry().model(model_name).build().state_dict(), path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    config = load_config()
    ensure_reference_checkpoints(config, MODELS, torch.device("cpu"))
    root = tmp_path_factory.mktemp("checkpoints")
    marker = root / "unpickling-ran-code"
    sources = [
        submission(root, "reference", {f"{m}.pt": (lambda p, m=m: shutil.copy(SOLUTIONS / f"{m}.pt", p))
                                       for m in MODELS}),
        submission(root, "untrained", {f"{m}.pt": untrained(m) for m in MODELS}),
        submission(root, "broken", {
            "lenet.pt": untrained("simple_nn"),                                            # another architecture
            "simple_nn.pt": lambda p: torch.save({"fc1.weight": CreatesFileWhenUnpickled(marker)}, p),
            "efficientnet.pt": untrained("lenet"),
        }),
        submission(root, "damaged", {
            "lenet.pt": lambda p: p.write_bytes((SOLUTIONS / "lenet.pt").read_bytes()[:5000]),  # cut short
            "simple_nn.pt": lambda p: p.write_text("not a checkpoint\n"),
        }),
        submission(root, "oversize", {"lenet.pt": lambda p: open(p, "wb").truncate(3 << 30)}),  # sparse 3 GiB
    ]
    batch = grade_batch(sources, root / "graded", config, DEFAULT_CONFIG, QUESTIONS, jobs=2, tests=ACCURACY_TESTS)
    return {g.name: g.results for g in batch}, marker, root / "graded"


def failures(results: dict) -> dict[str, str]:
    return {t["name"].split(" › ")[-1]: t["output"] for t in graded_tests(results) if t["status"] == "failed"}


def test_the_reference_checkpoints_pass_every_accuracy_test(graded):
    reference = graded[0]["reference"]
    assert reference["score"] == reference["max_score"] > 0, failures(reference)
    names = {entry["name"] for entry in reference["leaderboard"]}
    assert names == {load_registry().model(m).leaderboard for m in MODELS} and "LeNet acc" in names
    passed = [t["output"] for t in reference["tests"] if "overall_accuracy" in t["name"]]
    assert passed and all("plane" in text and "truck" in text and "overall" in text for text in passed)


def test_untrained_checkpoints_fail_their_thresholds(graded):
    results = graded[0]["untrained"]
    passed = [t["name"] for t in graded_tests(results) if t["status"] == "passed"]
    # Two untrained networks may tie (both guess one class), which a margin of 0 lets pass; every threshold
    # of a single model must fail.
    assert all(name.endswith("test_efficientnet_beats_your_lenet") for name in passed), passed
    text = failures(results)["test_lenet_reaches_the_overall_accuracy_threshold"]
    assert "LeNet (lenet.pt) reached" in text and "it needs at least" in text
    text = failures(results)["test_efficientnet_reaches_the_overall_accuracy_threshold"]
    assert "EfficientNet-B0 (efficientnet.pt) reached" in text and "it needs at least" in text


def test_a_checkpoint_of_another_architecture_gets_a_clear_message(graded):
    text = failures(graded[0]["broken"])["test_lenet_reaches_the_overall_accuracy_threshold"]
    assert "does not fit your LeNet" in text and "missing keys: conv1.weight" in text
    text = failures(graded[0]["broken"])["test_efficientnet_reaches_the_overall_accuracy_threshold"]
    assert "efficientnet.pt does not fit your EfficientNet" in text and "missing keys: features.0.0.weight" in text


def test_a_malicious_pickle_is_refused_without_running_it(graded):
    results, marker, _ = graded
    text = failures(results["broken"])["test_the_fully_connected_network_reaches_its_threshold"]
    assert "simple_nn.pt was refused" in text
    assert not marker.exists(), "unpickling the checkpoint ran the attacker's code"


def test_a_truncated_or_foreign_file_is_reported_as_damaged(graded):
    damaged = failures(graded[0]["damaged"])
    assert "lenet.pt could not be read" in damaged["test_lenet_reaches_the_overall_accuracy_threshold"]
    assert "simple_nn.pt could not be read" in damaged["test_the_fully_connected_network_reaches_its_threshold"]


def test_a_huge_checkpoint_is_not_loaded(graded):
    results = graded[0]["oversize"]
    text = failures(results)["test_lenet_reaches_the_overall_accuracy_threshold"]
    assert "lenet.pt is 3072 MiB, more than the" in text
    assert "simple_nn.pt was not found" in failures(results)["test_the_fully_connected_network_reaches_its_threshold"]


def test_the_confusion_matrices_are_drawn_next_to_the_results(graded):
    folder = graded[2] / "reference"
    for model in MODELS:
        assert (folder / f"confusion_{model}.png").stat().st_size > 10_000, model
    feedback = (folder / "feedback.md").read_text()
    assert "## ✓ q6_lenet › public › test_lenet_reaches_the_overall_accuracy_threshold" in feedback


def test_a_local_dask_cluster_grades_checkpoints_as_this_machine_does(graded, dask_client, tmp_path):
    """The reference and the malicious pickle, graded in Dask tasks: the same results, and no code ran."""
    results, marker, out = graded
    sources = {name: out.parent / name for name in ("reference", "broken")}
    on_cluster = grade_on(dask_client, sources, tmp_path / "graded", DEFAULT_CONFIG, QUESTIONS, ACCURACY_TESTS)
    for name in sources:
        assert without_timing(on_cluster[name].results) == without_timing(results[name]), name
    assert not marker.exists()
