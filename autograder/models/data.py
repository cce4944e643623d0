"""Images for the accuracy questions: real CIFAR-10 through torchvision, or the kit's synthetic look-alike."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from autograder.course.config import KIT_ROOT, DataSettings

CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# The usual CIFAR-10 per-channel statistics; the synthetic set is normalised with the same ones.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


class DataUnavailable(RuntimeError):
    """The named dataset is not on this machine; the message says how to get it."""


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor   # (N, 3, 32, 32) float32, normalised with MEAN and STD
    labels: torch.Tensor   # (N,) int64 in 0..9
    name: str              # e.g. "synthetic/test"

    def __len__(self) -> int:
        return len(self.labels)


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 32, 32, 3) or (N, 3, 32, 32) uint8 pixels -> (N, 3, 32, 32) float32, normalised."""
    if pixels.shape[-1] == 3:
        pixels = pixels.permute(0, 3, 1, 2)
    images = pixels.float().div(255)
    return (images - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def load(settings: DataSettings, split: str, download: bool = False) -> ImageSet:
    """The train or test split of the dataset named in grading.yml (`data.name`)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if settings.name == "synthetic":
        size = settings.synthetic.train_size if split == "train" else settings.synthetic.test_size
        pixels, labels = synthetic_pixels(size, seed=2 * settings.synthetic.seed + (split == "test"))
    else:
        pixels, labels = cifar10_pixels(KIT_ROOT / settings.root, split == "train", download)
    return ImageSet(normalise(pixels), labels, f"{settings.name}/{split}")


def cifar10_pixels(root: Path, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import CIFAR10

    try:
        dataset = CIFAR10(str(root), train=train, download=download)
    except RuntimeError as exc:
        raise DataUnavailable(
            f"CIFAR-10 is not in {root} ({exc}). Fetch it once with `autograder data --download` "
            "(needs internet), or set data.name: synthetic in grading.yml to use the kit's synthetic images."
        ) from None
    return torch.from_numpy(dataset.data), torch.tensor(dataset.targets, dtype=torch.int64)


# -- the synthetic look-alike --------------------------------------------------------
def synthetic_pixels(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` CIFAR-shaped uint8 images (N, 32, 32, 3), balanced over the ten classes, and their labels.

    Each class is a shape (a bar, a ring, a cross, ...) drawn at a random place, size, thickness and
    small rotation, in a random colour on a random background with a brightness gradient, pixel noise
    and a distracting blob. Colour and position say nothing about the class; only structure does.
    The same (size, seed) always gives the same images.
    """
    generator = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(size, *shape, generator=generator)

    labels = torch.arange(size) % len(CLASSES)
    labels = labels[torch.randperm(size, generator=generator)]
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    cx, cy = uniform(9, 23, 1, 1), uniform(9, 23, 1, 1)
    angle = uniform(-0.35, 0.35, 1, 1)
    dx, dy = xs - cx, ys - cy
    u = dx * torch.cos(angle) + dy * torch.sin(angle)
    v = -dx * torch.sin(angle) + dy * torch.cos(angle)
    scale, thickness = uniform(5.5, 9.0, 1, 1), uniform(1.0, 2.2, 1, 1)
    distance = _class_distances(u, v, scale)                                  # (10, N, 32, 32)
    chosen = distance.gather(0, labels.view(1, -1, 1, 1).expand(1, size, 32, 32))[0]
    mask = torch.sigmoid((thickness - chosen) * 2.0).unsqueeze(-1)            # soft edges

    background = uniform(0.1, 0.9, 1, 1, 3)
    towards = torch.where(background > 0.5, -1.0, 1.0)
    foreground = (background + towards * uniform(0.3, 0.6, 1, 1, 3)).clamp(0, 1)
    gradient = (uniform(-0.004, 0.004, 1, 1, 1) * xs.unsqueeze(-1) + uniform(-0.004, 0.004, 1, 1, 1)
                * ys.unsqueeze(-1))
    blob_x, blob_y = uniform(2, 30, 1, 1), uniform(2, 30, 1, 1)
    blob = torch.exp(-((xs - blob_x) ** 2 + (ys - blob_y) ** 2) / 3.0).unsqueeze(-1) * uniform(-0.5, 0.5, 1, 1, 3)
    noise = 0.06 * torch.randn(size, 32, 32, 3, generator=generator)
    image = background * (1 - mask) + foreground * mask + gradient + blob + noise
    return (image.clamp(0, 1) * 255).round().to(torch.uint8), labels


def _class_distances(u, v, scale) -> torch.Tensor:
    """Per class, each pixel's distance to the class's shape (small inside the stroke), as (10, N, 32, 32)."""
    au, av = u.abs(), v.abs()
    radius = torch.sqrt(u ** 2 + v ** 2)

    def outside(extent):  # a steep penalty that ends a stroke at `extent`
        return torch.relu(torch.maximum(au, av) - extent) * 4
    diagonal = (u - v).abs() / math.sqrt(2) + outside(scale * 0.8)
    anti_diagonal = (u + v).abs() / math.sqrt(2) + outside(scale * 0.8)
    horizontal = av + torch.relu(au - scale) * 4
    vertical = au + torch.relu(av - scale) * 4
    return torch.stack([
        horizontal,                                               # plane: a horizontal bar
        vertical,                                                 # car: a vertical bar
        diagonal,                                                 # bird: a diagonal stroke
        anti_diagonal,                                            # cat: the other diagonal
        (radius - scale).abs(),                                   # deer: a ring
        torch.relu(radius - scale * 0.7),                         # dog: a filled disc
        torch.minimum(horizontal, vertical),                      # frog: a plus sign
        (torch.maximum(au, av) - scale * 0.8).abs(),              # horse: a square outline
        torch.minimum(diagonal, anti_diagonal),                   # ship: an X
        (av - scale * 0.45).abs() + torch.relu(au - scale) * 4,   # truck: two parallel bars
    ])
