"""Pictures for people: the batch's scores per submission and question."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first


def plot_scores(names: list[str], per_question: list[dict[str, float]], questions: list[str],
                max_score: float, path: Path) -> None:
    """A horizontal stacked bar per submission, one colour per question."""
    height = 1.2 + 0.4 * len(names)
    figure, axes = plt.subplots(figsize=(9, height))
    left = [0.0] * len(names)
    for qid in questions:
        values = [scores.get(qid, 0.0) for scores in per_question]
        axes.barh(names, values, left=left, label=qid)
        left = [a + b for a, b in zip(left, values)]
    axes.set_xlim(0, max_score or 1)
    axes.invert_yaxis()
    axes.set_xlabel("points")
    axes.set_title("Scores per submission")
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
