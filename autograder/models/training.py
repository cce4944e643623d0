"""Training a reference model with its recipe (the registry's), and evaluating it (`autograder train`, `calibrate`)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from autograder.models.accuracy import confusion_matrix, overall_accuracy
from autograder.course.registry import Recipe
from autograder.models.data import ImageSet



def make_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    if recipe.optimizer == "SGD":
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                               weight_decay=recipe.weight_decay, nesterov=recipe.momentum > 0)
    return torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)


@dataclass
class History:
    losses: list[float] = field(default_factory=list)       # mean training loss per epoch
    accuracies: list[float] = field(default_factory=list)   # test accuracy after each epoch
    seconds: list[float] = field(default_factory=list)      # wall time of each epoch


def train(model: nn.Module, recipe: Recipe, train_set: ImageSet, test_set: ImageSet, epochs: int,
          device: torch.device, seed: int = 0, progress: bool = True,
          on_epoch: Callable[[int, int, float, float], None] | None = None) -> History:
    """Train with the recipe, the whole dataset kept on `device`; return per-epoch loss and test accuracy.
    on_epoch(epoch, epochs, seconds, test accuracy) is called after each epoch (epoch counts from 1)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    if not recipe.dropout:
        for module in model.modules():
            if isinstance(module, nn.Dropout) or type(module).__name__ == "StochasticDepth":
                module.p = 0.0
    layout = torch.channels_last if recipe.channels_last else torch.contiguous_format
    model.to(device, memory_format=layout)
    optimizer = make_optimizer(recipe, model)
    images, labels = train_set.images.to(device, memory_format=layout), train_set.labels.to(device)
    history = History()
    steps = (len(labels) + recipe.batch_size - 1) // recipe.batch_size
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps) if recipe.cosine else None
    bar = tqdm(total=epochs * steps, unit="batch", desc=f"training {type(model).__name__}",
               disable=None if progress else True)  # None: a bar on a terminal, none in logs
    for epoch in range(epochs):
        started, total = time.perf_counter(), torch.zeros((), device=device)
        model.train()
        order = torch.randperm(len(labels), generator=generator).to(device)
        for start in range(0, len(order), recipe.batch_size):
            batch = order[start:start + recipe.batch_size]
            optimizer.zero_grad()
            inputs = random_shift(images[batch], recipe.shift, generator) if recipe.shift else images[batch]
            loss = F.cross_entropy(model(inputs), labels[batch])
            loss.backward()
            optimizer.step()
            if schedule:
                schedule.step()
            total += loss.detach() * len(batch)  # no .item() per step: the GPU need not wait
            bar.update()
        history.losses.append(total.item() / len(labels))
        history.seconds.append(time.perf_counter() - started)
        history.accuracies.append(overall_accuracy(evaluate(model, test_set, device)))
        bar.set_postfix(loss=f"{history.losses[-1]:.3f}", test_accuracy=f"{history.accuracies[-1]:.1%}")
        if progress:
            tqdm.write(f"epoch {epoch + 1}/{epochs}: loss {history.losses[-1]:.3f}, "
                       f"test accuracy {history.accuracies[-1]:.1%}, {history.seconds[-1]:.1f} s")
        if on_epoch:
            on_epoch(epoch + 1, epochs, history.seconds[-1], history.accuracies[-1])
    bar.close()
    model.to(memory_format=torch.contiguous_format)  # the checkpoint's tensors in the usual layout
    return history


def random_shift(images: torch.Tensor, pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random offset of -pixels..pixels per axis; what leaves is cut, zeros come in."""
    n, _, height, width = images.shape
    padded = F.pad(images, [pixels] * 4)
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n), generator=generator).tolist()
    return torch.stack([padded[i, :, y:y + height, x:x + width] for i, (y, x) in enumerate(zip(dy, dx))])


def evaluate(model: nn.Module, test_set: ImageSet, device: torch.device, batch_size: int = 500):
    """The confusion matrix of model on test_set (rows actual, columns predicted)."""
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(test_set.images[i:i + batch_size].to(device)).argmax(1).cpu()
                                 for i in range(0, len(test_set), batch_size)])
    return confusion_matrix(predictions.numpy(), test_set.labels.numpy(), 10)


def save_checkpoint(model: nn.Module, path: Path) -> Path:
    """torch.save the state_dict (on the CPU) atomically, so a half-written file is never graded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, partial)
    partial.replace(path)
    return path
