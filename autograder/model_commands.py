"""`autograder data`, `train` and `calibrate`: datasets and reference checkpoints for the model questions."""
from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

import torch

from autograder.course.config import GradingConfig
from autograder.course.layout import SOLUTIONS
from autograder.course.registry import load_registry
from autograder.models.accuracy import accuracy_table, overall_accuracy, per_class_accuracy
from autograder.models.data import CLASSES, load
from autograder.models.devices import DeviceUnavailable, resolve_device
from autograder.models.figures import plot_examples
from autograder.models.references import train_reference
from autograder.models.training import evaluate, train


def models_of(targets: list[str], config: GradingConfig) -> list[str]:
    """Checkpoint names for command-line targets: a model name (lenet) or a question id (q6_lenet)."""
    names, models = [], load_registry().models
    for target in targets:
        if target in models:
            names.append(target)
        elif target in config.questions and config.questions[target].checkpoints:
            names += config.checkpoint_models([target])
        else:
            choices = ", ".join(f"{m} ({model.question})" for m, model in models.items())
            raise SystemExit(f"error: {target!r} is not a model or a question with checkpoints; choose from {choices}.")
    return list(dict.fromkeys(names))


def pick_device(name: str) -> torch.device:
    """--device as a torch.device; a command-line error when CUDA is asked for and absent."""
    try:
        return resolve_device(name)
    except DeviceUnavailable as exc:
        raise SystemExit(f"error: {exc}") from None


def with_data(config: GradingConfig, name: str | None) -> GradingConfig:
    return config if name is None else dataclasses.replace(config, data=dataclasses.replace(config.data, name=name))


def train_command(args, config: GradingConfig) -> int:
    names = models_of([args.model], config)
    if len(names) > 1:
        raise SystemExit(f"error: {args.model} has several models ({', '.join(names)}); train them one at a time.")
    config = with_data(config, args.data)
    out = args.out or SOLUTIONS / f"{names[0]}.pt"
    train_reference(names[0], config, args.epochs, pick_device(args.device), Path(out), seed=args.seed)
    return 0


# -- autograder calibrate --------------------------------------------------------------------
def suggest(values: list[float]) -> float:
    """A threshold the reference passes with room: mean - 3 std, at most the worst run - 2 points, floored."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return max(0.0, math.floor(100 * min(statistics.mean(values) - 3 * spread, min(values) - 0.02)) / 100)


def calibrate_command(args, config: GradingConfig) -> int:
    config = with_data(config, args.data)
    names, device = models_of(args.targets, config), pick_device(args.device)
    train_set, test_set = load(config.data, "train"), load(config.data, "test")
    overall: dict[str, list[float]] = {}
    for name in names:
        reference = load_registry().model(name)
        epochs = args.epochs or reference.recipe.epochs
        worst_class = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            model = reference.build()
            history = train(model, reference.recipe, train_set, test_set, epochs, device, seed=seed, progress=False)
            confusion = evaluate(model, test_set, device)
            overall.setdefault(name, []).append(overall_accuracy(confusion))
            worst_class.append(float(per_class_accuracy(confusion).min()))
            print(f"{name} seed {seed}: {overall[name][-1]:.1%} overall, weakest class {worst_class[-1]:.1%} "
                  f"({epochs} epochs, {statistics.median(history.seconds):.1f} s per epoch)")
            if seed == args.seeds - 1:
                print(accuracy_table(confusion, CLASSES, 0.0))
        print(f"\n{name} on {config.data.name}, {args.seeds} seeds, {epochs} epochs:")
        print(f"  overall: mean {statistics.mean(overall[name]):.1%}, spread (std) "
              f"{statistics.stdev(overall[name]) if args.seeds > 1 else 0:.1%}, suggested threshold "
              f"{suggest(overall[name]):.2f}")
        print(f"  weakest class: mean {statistics.mean(worst_class):.1%}, suggested per-class threshold "
              f"{suggest(worst_class):.2f}\n")
    for key, (better, worse) in load_registry().comparisons.items():
        if better in overall and worse in overall:
            gaps = [b - w for b, w in zip(overall[better], overall[worse])]
            print(f"{key}: gap mean {statistics.mean(gaps):.1%}, suggested margin {suggest(gaps):.2f}")
    print(f"Record these under thresholds.{config.data.name} in grading.yml with the command and figures.")
    return 0


# -- autograder data --------------------------------------------------------------------------
def data_command(args, config: GradingConfig) -> int:
    config = with_data(config, args.data)
    for split in ("train", "test"):
        images = load(config.data, split, download=args.download)
        counts = torch.bincount(images.labels, minlength=len(CLASSES)).tolist()
        print(f"{images.name}: {len(images)} images of shape {tuple(images.images.shape[1:])}; per class "
              + ", ".join(f"{c} {n}" for c, n in zip(CLASSES, counts)))
    if args.preview:
        plot_examples(load(config.data, "train"), CLASSES, Path(args.preview))
        print(f"wrote {args.preview}")
    return 0
