"""q7: your trained efficientnet.pt (EfficientNet-B0, 10 classes), scored on the test images."""
import pytest

from ..accuracy_checks import expect_better, expect_every_class, expect_overall_accuracy


@pytest.mark.points(4)
def test_efficientnet_reaches_the_overall_accuracy_threshold(checkpoints, thresholds, test_set, record_property):
    expect_overall_accuracy(checkpoints("efficientnet"), thresholds["efficientnet"], test_set, record_property)


@pytest.mark.points(3)
def test_efficientnet_reaches_the_threshold_in_every_class(checkpoints, thresholds, test_set, record_property):
    expect_every_class(checkpoints("efficientnet"), thresholds["efficientnet"], test_set, record_property)


@pytest.mark.points(2)
def test_efficientnet_beats_your_lenet(checkpoints, thresholds):
    expect_better(checkpoints("efficientnet"), checkpoints("lenet"), thresholds["efficientnet_over_lenet"])
