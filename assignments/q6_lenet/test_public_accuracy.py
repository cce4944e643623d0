"""q6: your trained lenet.pt and simple_nn.pt, scored on the test images (thresholds in grading.yml)."""
import pytest

from ..accuracy_checks import expect_better, expect_every_class, expect_overall_accuracy


@pytest.mark.points(4)
def test_lenet_reaches_the_overall_accuracy_threshold(checkpoints, thresholds, test_set, record_property):
    expect_overall_accuracy(checkpoints("lenet"), thresholds["lenet"], test_set, record_property)


@pytest.mark.points(3)
def test_lenet_reaches_the_threshold_in_every_class(checkpoints, thresholds, test_set, record_property):
    expect_every_class(checkpoints("lenet"), thresholds["lenet"], test_set, record_property)


@pytest.mark.points(2)
def test_the_fully_connected_network_reaches_its_threshold(checkpoints, thresholds, test_set, record_property):
    expect_overall_accuracy(checkpoints("simple_nn"), thresholds["simple_nn"], test_set, record_property)


@pytest.mark.points(2)
def test_lenet_beats_the_fully_connected_network(checkpoints, thresholds):
    expect_better(checkpoints("lenet"), checkpoints("simple_nn"), thresholds["lenet_over_simple_nn"])
