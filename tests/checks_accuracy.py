"""Submitted checkpoints, scored: the worker predicts the test images, the grader judges with its own labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from autograder.accuracy import accuracy_table, confusion_matrix, overall_accuracy, per_class_accuracy
from autograder.plots import plot_confusion
from autograder.data import CLASSES, ImageSet
from autograder.errors import SandboxError, StudentError
from autograder.training import RECIPES

TITLES = {"lenet": "LeNet", "simple_nn": "the fully connected network (SimpleNN)", "efficientnet": "EfficientNet-B0"}


@dataclass
class Scored:
    name: str                          # checkpoint name without .pt, e.g. "lenet"
    confusion: np.ndarray | None       # rows actual class, columns predicted class
    problem: str = ""                  # why nothing could be measured
    figure: Path | None = None

    @property
    def title(self) -> str:
        return f"{TITLES[self.name]} ({self.name}.pt)"

    def accuracy(self) -> float:
        return overall_accuracy(self.confusion)


class CheckpointScorer:
    """Scores each submitted checkpoint once per grading session, failures included."""

    def __init__(self, student, test_set: ImageSet, device, report_dir: Path):
        self.student, self.test_set, self.device, self.report_dir = student, test_set, device, report_dir
        self.scored: dict[str, Scored] = {}

    def __call__(self, name: str) -> Scored:
        if name not in self.scored:
            self.scored[name] = self._score(name)
        return self.scored[name]

    def _score(self, name: str) -> Scored:
        if f"{name}.pt" in self.student.refused:
            return Scored(name, None, self.student.refused[f"{name}.pt"])
        recipe = RECIPES[name]
        try:
            model = getattr(getattr(self.student, recipe.question), recipe.factory)(*recipe.args)
            logits = self.student.harness.predict_from_checkpoint(model, f"{name}.pt", self.test_set.images,
                                                                  device=self.device.type)
        except (StudentError, SandboxError) as exc:
            return Scored(name, None, str(exc))
        expected = (len(self.test_set), len(CLASSES))
        if not hasattr(logits, "shape") or tuple(logits.shape) != expected:
            shape = tuple(logits.shape) if hasattr(logits, "shape") else type(logits).__name__
            return Scored(name, None, f"{TITLES[name]} should give logits of shape {expected} for the "
                                      f"{len(self.test_set)} test images, but gave {shape}.")
        predictions = logits.argmax(dim=1).numpy()
        confusion = confusion_matrix(predictions, self.test_set.labels.numpy(), len(CLASSES))
        figure = plot_confusion(confusion, CLASSES, f"{TITLES[name]} on {self.test_set.name}",
                                self.report_dir / f"confusion_{name}.png")
        return Scored(name, confusion, figure=figure)


def measured(scored: Scored) -> Scored:
    """The scored checkpoint, or a test failure saying why it could not be measured."""
    if scored.problem:
        pytest.fail(f"{scored.title} could not be scored: {scored.problem}", pytrace=False)
    return scored


def report(scored: Scored, per_class_threshold: float, test_set: ImageSet) -> str:
    return (f"{scored.title} on {len(test_set)} {test_set.name} images:\n"
            f"{accuracy_table(scored.confusion, CLASSES, per_class_threshold)}\n"
            f"Confusion matrix (rows actual, columns predicted): {scored.figure.name}")


def expect_overall_accuracy(scored: Scored, threshold, test_set: ImageSet, record_property) -> None:
    measured(scored)
    record_property("report", report(scored, threshold.per_class, test_set))
    record_property("leaderboard", {"name": f"{TITLES[scored.name]} accuracy", "value": round(scored.accuracy(), 4)})
    assert scored.accuracy() >= threshold.overall, (
        f"{scored.title} reached {scored.accuracy():.1%} on the test images; it needs at least "
        f"{threshold.overall:.1%}. Train longer or with a better learning rate, and check that the model you "
        "saved is the trained one.")


def expect_every_class(scored: Scored, threshold, test_set: ImageSet, record_property) -> None:
    measured(scored)
    record_property("report", report(scored, threshold.per_class, test_set))
    accuracies = per_class_accuracy(scored.confusion)
    weak = [f"{CLASSES[c]} {a:.1%}" for c, a in enumerate(accuracies) if not a >= threshold.per_class]
    assert not weak, (f"{scored.title}: every class needs at least {threshold.per_class:.1%}, but these do not: "
                      f"{', '.join(weak)}. The confusion matrix shows which classes they are mistaken for.")


def expect_better(better: Scored, worse: Scored, margin: float) -> None:
    for scored in (better, worse):
        measured(scored)
    gap = better.accuracy() - worse.accuracy()
    wanted = f"at least {margin:.1%} more accurate" if margin > 0 else "at least as accurate"
    assert gap >= margin, (
        f"{better.title} reached {better.accuracy():.1%} and {worse.title} {worse.accuracy():.1%}: "
        f"{TITLES[better.name]} should be {wanted} (it is {gap:+.1%}).")
