"""Kit routines that run inside the worker, next to student code, called by name from tests."""
from __future__ import annotations

from torch import nn

__all__ = ["build_layers"]

LAYER_TYPES = ("Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Tanh", "Sigmoid", "LeakyReLU",
               "Identity", "Linear", "Flatten")


def build_layers(specs: list) -> list[nn.Module]:
    """Build torch.nn layers from (class name, keyword arguments) pairs, e.g. ("Conv2d", {...})."""
    layers = []
    for name, kwargs in specs:
        if name not in LAYER_TYPES:
            raise ValueError(f"build_layers: {name!r} is not one of {', '.join(LAYER_TYPES)}")
        layers.append(getattr(nn, name)(**kwargs))
    return layers
