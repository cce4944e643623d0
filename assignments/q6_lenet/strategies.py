"""Hypothesis strategies for q6 (LeNet, SimpleNN, training, prediction, per-class metrics): small cases as recipes."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class ImageBatch:
    """A batch of `batch_size` standard normal CIFAR-shaped images (float32) for a model with `num_classes`."""
    batch_size: int
    num_classes: int
    seed: int

    def images(self) -> torch.Tensor:
        return torch.randn(self.batch_size, 3, 32, 32, generator=_generator(self.seed))


def class_counts():
    """Numbers of classes: mostly 1-20, sometimes CIFAR-10's 10 or CIFAR-100's 100."""
    return st.one_of(st.integers(1, 20), st.sampled_from([10, 100]))


@st.composite
def image_batches(draw) -> ImageBatch:
    """An ImageBatch of 1-8 images, with a class count from `class_counts`."""
    return ImageBatch(draw(st.integers(1, 8)), draw(class_counts()), draw(st.integers(0, 2**32 - 1)))


@dataclass(frozen=True)
class LinearTask:
    """A small classification task for a Linear(features, classes) model, fed by a DataLoader.

    `examples` inputs ~ randn (examples, features) with labels uniform in 0..classes-1 (or the example
    indices 0..examples-1 when `labels_are_indices`, to follow each example through a shuffling loader),
    the model's weight ~ randn / sqrt(features) and bias ~ randn / 2, batches of `batch_size` in order
    (or shuffled when `shuffle`), SGD with learning rate `lr`. Everything is float32 and drawn from `seed`.
    """
    examples: int
    batch_size: int
    features: int
    classes: int
    lr: float
    seed: int
    shuffle: bool = False
    labels_are_indices: bool = False

    def tensors(self):
        """(inputs (examples, features), labels (examples,) int64, weight (classes, features), bias (classes,))."""
        generator = _generator(self.seed)
        inputs = torch.randn(self.examples, self.features, generator=generator)
        labels = torch.randint(0, self.classes, (self.examples,), generator=generator)
        if self.labels_are_indices:
            labels = torch.arange(self.examples)
        weight = torch.randn(self.classes, self.features, generator=generator) / self.features ** 0.5
        bias = torch.randn(self.classes, generator=generator) / 2
        return inputs, labels, weight, bias


@st.composite
def training_tasks(draw) -> LinearTask:
    """A LinearTask of 3-24 examples in at least two batches (so that the last one is often smaller),
    2-8 features, 2-5 classes and a learning rate of 0 (the model does not change), 0.1 or 0.5."""
    examples = draw(st.integers(3, 24))
    return LinearTask(examples, draw(st.integers(1, examples - 1)), draw(st.integers(2, 8)),
                      draw(st.integers(2, 5)), draw(st.sampled_from([0.0, 0.1, 0.5])),
                      draw(st.integers(0, 2**32 - 1)))


@st.composite
def prediction_tasks(draw) -> LinearTask:
    """A LinearTask for `predict`: 1-24 examples labelled by their index, batches of 1-10, 2-6 classes,
    shuffled or not."""
    return LinearTask(draw(st.integers(1, 24)), draw(st.integers(1, 10)), draw(st.integers(2, 8)),
                      draw(st.integers(2, 6)), 0.0, draw(st.integers(0, 2**32 - 1)), shuffle=draw(st.booleans()),
                      labels_are_indices=True)


@dataclass(frozen=True)
class ClassifiedExamples:
    """Predictions and labels of `num_classes` classes, as plain tuples (Hypothesis prints them)."""
    num_classes: int
    predictions: tuple[int, ...]
    labels: tuple[int, ...]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(predictions, labels), 1-D int64 tensors of the same length."""
        return (torch.tensor(self.predictions, dtype=torch.int64).reshape(-1),
                torch.tensor(self.labels, dtype=torch.int64).reshape(-1))


@st.composite
def classified_examples(draw) -> ClassifiedExamples:
    """2-12 classes and 0-60 examples whose labels come from a random subset of the classes (so that
    some classes often have no example); each prediction is the label about half the time, else any class."""
    num_classes = draw(st.integers(2, 12))
    present = sorted(draw(st.sets(st.integers(0, num_classes - 1), min_size=1, max_size=num_classes)))
    rows = draw(st.lists(st.tuples(st.sampled_from(present), st.booleans(), st.integers(0, num_classes - 1)),
                         max_size=60))
    labels = tuple(label for label, _, _ in rows)
    predictions = tuple(label if right else other for label, right, other in rows)
    return ClassifiedExamples(num_classes, predictions, labels)
