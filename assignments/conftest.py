"""The question tests' fixtures: the test images, the accuracy thresholds, submitted checkpoints scored. The
`student`, `device`, `grading_config` and `report_dir` fixtures, --submission and the points marker come from
autograder.grading.plugin (loaded by pyproject's addopts)."""
import pytest

from autograder.course.config import AccuracyThreshold
from autograder.course.registry import load_registry
from autograder.models.data import DataUnavailable, load

from .accuracy_checks import CheckpointScorer


@pytest.fixture(scope="session")
def test_set(grading_config):
    """The test split of the dataset grading.yml names (data.name); its labels never leave the grader."""
    try:
        return load(grading_config.data, "test")
    except DataUnavailable as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def thresholds(grading_config):
    """thresholds["lenet"], thresholds["lenet_over_simple_nn"]: the accuracy thresholds for the dataset in use
    (grading.yml thresholds.<data.name>), by model and comparison; one grading.yml leaves out is 0."""
    name = grading_config.data.name
    if name not in grading_config.thresholds:
        raise pytest.UsageError(f"grading.yml has no thresholds for data.name {name!r}; add thresholds.{name} "
                                "(run `autograder calibrate` to choose them).")
    registry = load_registry()
    return {**{m: AccuracyThreshold() for m in registry.models}, **{c: 0.0 for c in registry.comparisons},
            **grading_config.thresholds[name]}


@pytest.fixture(scope="session")
def checkpoints(student, test_set, device, report_dir):
    """checkpoints("lenet") -> the submitted lenet.pt scored on the test set (once per session)."""
    return CheckpointScorer(student, test_set, device, report_dir)
