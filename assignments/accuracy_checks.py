"""Submitted checkpoints, scored: the worker predicts the test images, the grader judges with its own labels."""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.course.registry import load_registry
from autograder.models.figures import plot_confusion
from autograder.models.data import CLASSES, ImageSet
from autograder.sandbox.errors import SandboxError, StudentError

# The grader scores predictions with its own metrics, autograder/models/accuracy.py. student.zip leaves that module out
# (it is q6's confusion_matrix and per_class_accuracy, ready to translate), so there the per-class figures come
# from the student's own q6 functions once they get a hand-worked example right (own_metrics); until then the
# student's run measures the overall accuracy only and leaves the per-class bars to the grader.
GRADER = importlib.util.find_spec("autograder.models.accuracy") is not None
if GRADER:
    from autograder.models.accuracy import confusion_matrix, per_class_accuracy


def model(name: str):
    """The registered model of a checkpoint name: its question, factory, title and leaderboard column
    (the question's models.yml, which student.zip ships with the question's tests)."""
    return load_registry().model(name)


@dataclass
class Scored:
    name: str                          # checkpoint name without .pt, e.g. "lenet"
    confusion: np.ndarray | None       # rows actual class, columns predicted class
    problem: str = ""                  # why nothing could be measured
    figure: Path | None = None
    overall: float = math.nan          # the share of test images predicted right
    per_class: np.ndarray | None = None  # each class's accuracy; None: not measured here (see note)
    note: str = ""                     # whose code measured the per-class figures, or why nobody's did

    @property
    def title(self) -> str:
        return f"{model(self.name).title} ({self.name}.pt)"

    def accuracy(self) -> float:
        return self.overall


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
        entry = model(name)
        try:
            built = getattr(getattr(self.student, entry.question), entry.factory)(*entry.args)
            logits = self.student.harness.predict_from_checkpoint(built, f"{name}.pt", self.test_set.images,
                                                                  device=self.device.type)
        except (StudentError, SandboxError) as exc:
            return Scored(name, None, str(exc))
        expected = (len(self.test_set), len(CLASSES))
        if not hasattr(logits, "shape") or tuple(logits.shape) != expected:
            shape = tuple(logits.shape) if hasattr(logits, "shape") else type(logits).__name__
            return Scored(name, None, f"{entry.title} should give logits of shape {expected} for the "
                                      f"{len(self.test_set)} test images, but gave {shape}.")
        predictions, labels = logits.argmax(dim=1), self.test_set.labels
        overall = float((predictions == labels).double().mean())
        confusion, per_class, note = (grader_metrics(predictions, labels) if GRADER
                                      else own_metrics(self.student, predictions, labels))
        figure = None if confusion is None else plot_confusion(confusion, CLASSES, f"{entry.title} on "
                                                               f"{self.test_set.name}",
                                                               self.report_dir / f"confusion_{name}.png")
        return Scored(name, confusion, figure=figure, overall=overall, per_class=per_class, note=note)


def grader_metrics(predictions: torch.Tensor, labels: torch.Tensor) -> tuple:
    """(confusion matrix, per-class accuracy, note) by the grader's own code."""
    confusion = confusion_matrix(predictions.numpy(), labels.numpy(), len(CLASSES))
    return confusion, per_class_accuracy(confusion), ""


# What the student's own metrics must give before a local report uses them, worked out by hand:
# predictions [1, 0, 1, 2, 2] for labels [0, 0, 1, 1, 2], 4 classes; a row per actual class, a column per predicted
#   class 0 (examples 0-1) was predicted 1, 0  -> row [1, 1, 0, 0], 1 of 2 right
#   class 1 (examples 2-3) was predicted 1, 2  -> row [0, 1, 1, 0], 1 of 2 right
#   class 2 (example 4) was predicted 2        -> row [0, 0, 1, 0], 1 of 1 right
#   class 3 has no example                     -> row [0, 0, 0, 0], no accuracy (nan)
TRIAL = (torch.tensor([1, 0, 1, 2, 2]), torch.tensor([0, 0, 1, 1, 2]), 4)
TRIAL_CONFUSION = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
TRIAL_ACCURACY = torch.tensor([1 / 2, 1 / 2, 1 / 1, math.nan], dtype=torch.float64)


def own_metrics(student, predictions: torch.Tensor, labels: torch.Tensor) -> tuple:
    """(confusion matrix, per-class accuracy, note) by the student's own q6_lenet functions, when they get the
    hand-worked TRIAL right; else (None, None, why not). For student.zip, which has no grader's metrics."""
    later = ("The grader checks every class with its own code. To see the per-class figures here too, make "
             "confusion_matrix and per_class_accuracy in q6_lenet.py pass their public tests: ")
    try:
        q6 = student.q6_lenet
        trial = q6.confusion_matrix(*TRIAL), q6.per_class_accuracy(*TRIAL)
        if not (_is(trial[0], TRIAL_CONFUSION) and _is(trial[1], TRIAL_ACCURACY)):
            return None, None, later + "they do not yet get a small worked example right."
        confusion = q6.confusion_matrix(predictions, labels, len(CLASSES))
        per_class = q6.per_class_accuracy(predictions, labels, len(CLASSES))
    except (StudentError, SandboxError) as exc:
        return None, None, later + str(exc).splitlines()[0][:300]
    size = len(CLASSES)
    if not (_is(confusion, shape=(size, size)) and _is(per_class, shape=(size,))):
        return None, None, later + "on the test images they did not return a (10, 10) and a (10,) tensor."
    return (confusion.numpy().astype(np.int64), per_class.double().numpy(),
            "These per-class figures come from your own confusion_matrix and per_class_accuracy (q6_lenet.py); "
            "the grader computes them with its own code.")


def _is(value, expected: torch.Tensor | None = None, shape: tuple | None = None) -> bool:
    """Whether a student's result is a tensor of that shape, or equal to `expected` (nan where it is nan)."""
    if not isinstance(value, torch.Tensor) or tuple(value.shape) != (shape or tuple(expected.shape)):
        return False
    return expected is None or torch.allclose(value.double(), expected.double(), rtol=0, atol=1e-6, equal_nan=True)


def measured(scored: Scored) -> Scored:
    """The scored checkpoint, or a test failure saying why it could not be measured."""
    if scored.problem:
        pytest.fail(f"{scored.title} could not be scored: {scored.problem}", pytrace=False)
    return scored


def confusion_text(confusion: np.ndarray, classes: tuple[str, ...]) -> str:
    """The confusion matrix as aligned text: a row per actual class, a column per predicted class."""
    label = max(len(name) for name in classes)
    cell = max(label, len(str(confusion.max(initial=0)))) + 1
    lines = [" " * label + "".join(f"{name:>{cell}}" for name in classes)]
    lines += [f"{name:<{label}}" + "".join(f"{count:>{cell}}" for count in row)
              for name, row in zip(classes, confusion)]
    return "\n".join(lines)


def class_table(scored: Scored, per_class_threshold: float) -> str:
    """Each class's accuracy and examples, a mark where it is below the threshold, the overall accuracy, and
    (in student.zip) whose code measured them; without per-class figures, the overall accuracy and why."""
    if scored.per_class is None:
        return f"overall accuracy {scored.accuracy():.1%}; per class: not measured here. {scored.note}"
    examples = scored.confusion.sum(axis=1)
    lines = [f"{'class':<8} {'accuracy':>9} {'examples':>9}"]
    for name, accuracy, total in zip(CLASSES, scored.per_class, examples):
        flag = "  < below the threshold" if not accuracy >= per_class_threshold else ""
        lines.append(f"{name:<8} {accuracy:>8.1%} {total:>9d}{flag}")
    lines.append(f"{'overall':<8} {scored.accuracy():>8.1%} {examples.sum():>9d}")
    return "\n".join(lines + ([scored.note] if scored.note else []))


def report(scored: Scored, per_class_threshold: float, test_set: ImageSet) -> str:
    """What a student reads under an accuracy test: the per-class table and the confusion matrix, as text."""
    if scored.confusion is None:  # only in student.zip, before the student's own metrics work (see own_metrics)
        return f"{scored.title} on {len(test_set)} {test_set.name} images: {class_table(scored, per_class_threshold)}"
    return (f"{scored.title} on {len(test_set)} {test_set.name} images:\n"
            f"{class_table(scored, per_class_threshold)}\n\n"
            "Confusion matrix (rows: actual class, columns: predicted class; the diagonal is correct):\n"
            f"{confusion_text(scored.confusion, CLASSES)}")


def expect_overall_accuracy(scored: Scored, threshold, test_set: ImageSet, record_property) -> None:
    measured(scored)
    record_property("report", report(scored, threshold.per_class, test_set))
    record_property("leaderboard", {"name": model(scored.name).leaderboard, "value": round(scored.accuracy(), 4)})
    assert scored.accuracy() >= threshold.overall, (
        f"{scored.title} reached {scored.accuracy():.1%} on the test images; it needs at least "
        f"{threshold.overall:.1%}. Train longer or with a better learning rate, and check that the model you "
        "saved is the trained one.")


def expect_every_class(scored: Scored, threshold, test_set: ImageSet, record_property) -> None:
    measured(scored)
    record_property("report", report(scored, threshold.per_class, test_set))
    if scored.per_class is None:  # only in student.zip: see own_metrics
        pytest.skip(f"{scored.title}: not measured here. {scored.note}")
    weak = [f"{CLASSES[c]} {a:.1%}" for c, a in enumerate(scored.per_class) if not a >= threshold.per_class]
    assert not weak, (f"{scored.title}: every class needs at least {threshold.per_class:.1%}, but these do not: "
                      f"{', '.join(weak)}. The confusion matrix shows which classes they are mistaken for.")


def expect_better(better: Scored, worse: Scored, margin: float) -> None:
    for scored in (better, worse):
        measured(scored)
    gap = better.accuracy() - worse.accuracy()
    wanted = f"at least {margin:.1%} more accurate" if margin > 0 else "at least as accurate"
    assert gap >= margin, (
        f"{better.title} reached {better.accuracy():.1%} and {worse.title} {worse.accuracy():.1%}: "
        f"{model(better.name).title} should be {wanted} (it is {gap:+.1%}).")
