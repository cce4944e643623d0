"""Pictures of a graded batch for people: total and per-question score histograms."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from autograder.models.figures import pyplot, save


def score_bins(max_score: float) -> np.ndarray:
    """Histogram bin edges over 0..max_score: one bin per point up to 20 points (centred on whole points, which
    most scores are), else 20 equal bins."""
    if 0 < max_score <= 20:
        return np.arange(-0.5, math.floor(max_score) + 1)
    return np.linspace(0, max_score or 1, 21)


def plot_scores(totals: list[float], max_score: float, path: Path) -> Path:
    """A histogram of the total scores, mean and median marked; the same size for 1 submission or 500."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.hist(totals, bins=score_bins(max_score), color="tab:blue", edgecolor="white")
    if totals:
        axes.axvline(float(np.mean(totals)), color="tab:red", label=f"mean {np.mean(totals):.2f}")
        axes.axvline(float(np.median(totals)), color="black", linestyle="--",
                     label=f"median {np.median(totals):.2f}")
        axes.legend(loc="best")
    axes.set_xlim(score_bins(max_score)[[0, -1]])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set(xlabel=f"total score (out of {max_score:g})", ylabel="submissions",
             title=f"Scores of {len(totals)} submissions")
    return save(figure, path)


def plot_question_histograms(per_question: dict[str, list[float]], max_points: dict[str, float],
                             path: Path, columns: int = 4) -> Path:
    """Small multiples: a score histogram per question, its mean marked, counts on a shared scale."""
    plt = pyplot()
    columns = max(1, min(columns, len(per_question)))
    rows = max(1, math.ceil(len(per_question) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(3 * columns, 2.4 * rows), sharey=True, squeeze=False)
    panels = grid.flatten()
    for axes, (qid, scores) in zip(panels, per_question.items()):
        bins = score_bins(max_points[qid])
        axes.hist(scores, bins=bins, color="tab:blue", edgecolor="white")
        if scores:
            axes.axvline(float(np.mean(scores)), color="tab:red")
        axes.set_xlim(bins[[0, -1]])
        axes.set_title(f"{qid}\nmean {np.mean(scores) if scores else 0:.2f} / {max_points[qid]:g}", fontsize=9)
        axes.tick_params(labelsize=8)
    for axes in panels[len(per_question):]:
        axes.axis("off")
    grid[0, 0].yaxis.get_major_locator().set_params(integer=True)
    for axes in grid[:, 0]:
        axes.set_ylabel("submissions", fontsize=8)
    return save(figure, path)
