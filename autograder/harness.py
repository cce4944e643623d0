"""Kit routines that run inside the worker, next to student code, called by name from tests."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["build_layers", "watch_inputs", "summary"]

LAYER_TYPES = ("Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Tanh", "Sigmoid", "LeakyReLU",
               "Identity", "Linear", "Flatten")
HYPER_PARAMETERS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                    "padding_mode", "ceil_mode", "count_include_pad", "in_features", "out_features",
                    "inplace", "negative_slope", "num_features", "p")


def build_layers(specs: list) -> list[nn.Module]:
    """Build torch.nn layers from (class name, keyword arguments) pairs, e.g. ("Conv2d", {...})."""
    layers = []
    for name, kwargs in specs:
        if name not in LAYER_TYPES:
            raise ValueError(f"build_layers: {name!r} is not one of {', '.join(LAYER_TYPES)}")
        layers.append(getattr(nn, name)(**kwargs))
    return layers


def watch_inputs(function, *args, **kwargs) -> dict:
    """Call function(*args, **kwargs) and report what it did to its tensor arguments.

    Returns {"output": the result, "inputs_after": the positional arguments after the call,
    "changed": [whether each positional tensor changed], "returned": position of the argument the
    result *is* (the same tensor object, as an in-place op returns), or -1}.
    """
    before = [a.clone() if isinstance(a, torch.Tensor) else None for a in args]
    output = function(*args, **kwargs)
    changed = [b is not None and not torch.equal(b, a) for b, a in zip(before, args)]
    returned = next((i for i, a in enumerate(args) if a is output), -1)
    return {"output": output, "inputs_after": list(args), "changed": changed, "returned": returned}


def summary(module: nn.Module) -> dict:
    """What a module is: its class, hyper-parameters, parameter shapes and count, and its children's summaries."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    kind = type(module)
    return {
        "type": f"{kind.__module__}.{kind.__qualname__}",
        "is": [f"{k.__module__}.{k.__qualname__}" for k in kind.__mro__ if issubclass(k, nn.Module)],
        "hyper": {name: _plain(getattr(module, name)) for name in HYPER_PARAMETERS if hasattr(module, name)},
        "parameters": {name: tuple(p.shape) for name, p in module.named_parameters()},
        "parameter_count": sum(p.numel() for p in module.parameters()),
        "children": {name: summary(child) for name, child in module.named_children()},
    }


def _plain(value):
    """Hyper-parameters as plain values (ints, strings, tuples, bools); anything else as its repr."""
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return tuple(value)
    return repr(value)
