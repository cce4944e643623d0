"""The grader's own scoring of predictions (NumPy); q6's answer, so student.zip never holds it (release.GRADER_ONLY)."""
from __future__ import annotations

import math
import numpy as np


def confusion_matrix(predictions, labels, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; row = actual class, column = predicted class."""
    predictions, labels = np.asarray(predictions, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    if predictions.shape != labels.shape or predictions.ndim != 1:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} must be equal 1-D shapes")
    if len(labels) and (min(predictions.min(), labels.min()) < 0 or max(predictions.max(), labels.max()) >= num_classes):
        raise ValueError(f"class indices must lie in 0..{num_classes - 1}")
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Share of each actual class predicted correctly; NaN for a class with no examples."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


def overall_accuracy(confusion: np.ndarray) -> float:
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else math.nan


def accuracy_table(confusion: np.ndarray, classes: tuple[str, ...], per_class_threshold: float) -> str:
    """A per-class table for feedback: accuracy, examples, and a mark where a class is below the threshold."""
    accuracies, totals = per_class_accuracy(confusion), confusion.sum(axis=1)
    lines = [f"{'class':<8} {'accuracy':>9} {'examples':>9}"]
    for name, accuracy, total in zip(classes, accuracies, totals):
        flag = "  < below the threshold" if accuracy < per_class_threshold else ""
        lines.append(f"{name:<8} {accuracy:>8.1%} {total:>9d}{flag}")
    lines.append(f"{'overall':<8} {overall_accuracy(confusion):>8.1%} {totals.sum():>9d}")
    return "\n".join(lines)
