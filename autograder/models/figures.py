"""Pictures of models and data for people: confusion matrices, training curves, dataset previews."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """matplotlib.pyplot with a file-only backend, imported on the first picture (half a second: grading and
    the student's tests that draw nothing never pay it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure, path: Path, dpi: int = 100) -> Path:
    """Write a finished figure as a PNG and free it."""
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot().close(figure)
    return path


def plot_confusion(confusion: np.ndarray, classes: tuple[str, ...], title: str, path: Path) -> Path:
    """Write the confusion matrix as a PNG heat map (rows actual, columns predicted)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    image = ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    ax.set_title(title)
    threshold = confusion.max() / 2 if confusion.size else 0
    for (row, column), count in np.ndenumerate(confusion):
        ax.text(column, row, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > threshold else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_history(history, title: str, path: Path) -> Path:
    """A training History's loss and test accuracy per epoch, side by side, as a PNG."""
    plt = pyplot()
    epochs = range(1, len(history.losses) + 1)
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
    loss_ax.plot(epochs, history.losses, marker="o")
    loss_ax.set(xlabel="epoch", ylabel="mean training loss", title=f"{title}: loss")
    accuracy_ax.plot(epochs, [100 * a for a in history.accuracies], marker="o", color="tab:green")
    accuracy_ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=f"{title}: test accuracy", ylim=(0, 100))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_examples(images, classes: tuple[str, ...], path: Path, per_class: int = 8) -> Path:
    """A grid of example images, one row per class (images: an ImageSet, normalised)."""
    plt = pyplot()
    from autograder.models.data import MEAN, STD

    figure, axes = plt.subplots(len(classes), per_class, figsize=(per_class, len(classes) * 1.05))
    for label, row in enumerate(axes):
        chosen = (images.labels == label).nonzero().flatten()[:per_class]
        for axis, index in zip(row, chosen):
            pixels = images.images[index].permute(1, 2, 0).numpy() * np.array(STD) + np.array(MEAN)
            axis.imshow(pixels.clip(0, 1))
        for axis in row:
            axis.axis("off")
        row[0].set_title(classes[label], fontsize=8, loc="left")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
