"""The reference checkpoints in solutions/: trained with the kit's recipe, once per dataset."""
from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from autograder.course.config import GradingConfig
from autograder.course.layout import SOLUTIONS
from autograder.course.registry import load_registry
from autograder.models.reference_manifest import data_fingerprint, record, stale_references
from autograder.models.data import load
from autograder.models.figures import plot_history
from autograder.models.training import save_checkpoint, train


def train_reference(name: str, config: GradingConfig, epochs: int | None, device: torch.device, out: Path,
                    seed: int = 0, progress: bool = True,
                    on_epoch: Callable[[int, int, float, float], None] | None = None) -> dict:
    """Train the reference `name` with the kit's recipe, save its state_dict and a training-curve PNG."""
    reference = load_registry().model(name)
    train_set, test_set = load(config.data, "train"), load(config.data, "test")
    torch.manual_seed(seed)  # the initial weights too: the same seed gives the same checkpoint
    model = reference.build()
    epochs = epochs or reference.recipe.epochs
    history = train(model, reference.recipe, train_set, test_set, epochs, device, seed=seed, progress=progress,
                    on_epoch=on_epoch)
    save_checkpoint(model, out)
    curve = plot_history(history, f"{name} on {config.data.name}", out.with_name(f"{out.stem}_training.png"))
    entry = {**data_fingerprint(config), "epochs": epochs, "seed": seed, "accuracy": round(history.accuracies[-1], 4),
             "seconds_per_epoch": round(statistics.median(history.seconds), 2), "device": device.type}
    print(f"wrote {out} ({entry['accuracy']:.1%} test accuracy after {epochs} epochs, "
          f"{entry['seconds_per_epoch']} s per epoch on {device.type}) and {curve}")
    return entry


def ensure_reference_checkpoints(config: GradingConfig, names: list[str], device: torch.device) -> None:
    """Train, here and now, the reference checkpoints in solutions/ that are missing or were trained on other
    data (BackgroundTraining does it in a child process while grading goes on)."""
    for name in stale_references(config, names, SOLUTIONS):
        print(f"training the reference {name} on {config.data.name} data for the examples (once; it is cached "
              f"in solutions/{name}.pt)", file=sys.stderr)
        record(name, train_reference(name, config, None, device, SOLUTIONS / f"{name}.pt", progress=False),
               SOLUTIONS)
