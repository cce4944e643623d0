"""Kit routines that run inside the worker, next to student code, called by name from tests."""
from __future__ import annotations

import os
import re

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

__all__ = ["build_layers", "watch_inputs", "summary", "make_loader", "make_optimizer", "make_loss",
           "zero_parameters", "predict_from_checkpoint"]
# Routines that get limits.predict_seconds instead of call_seconds: predicting a whole test set, and the
# first optimizer, whose construction makes torch import torch._dynamo lazily (1.5-6 s).
LONG_RUNNING = {"predict_from_checkpoint", "make_optimizer"}
OPTIMIZERS = ("SGD", "Adam", "AdamW")

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


# -- models, data and checkpoints ------------------------------------------------
def make_loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int = 32, shuffle: bool = False,
                seed: int = 0) -> DataLoader:
    """A DataLoader over (images, labels), shuffled reproducibly when asked."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=shuffle, generator=generator)


def make_optimizer(model: nn.Module, name: str = "SGD", **options) -> torch.optim.Optimizer:
    """torch.optim.<name>(model.parameters(), **options), e.g. make_optimizer(model, "SGD", lr=0.1)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"make_optimizer: {name!r} is not one of {', '.join(OPTIMIZERS)}")
    return getattr(torch.optim, name)(model.parameters(), **options)


def make_loss(name: str = "CrossEntropyLoss") -> nn.Module:
    if name not in ("CrossEntropyLoss", "MSELoss"):
        raise ValueError(f"make_loss: {name!r} is not CrossEntropyLoss or MSELoss")
    return getattr(nn, name)()


def zero_parameters(model: nn.Module) -> int:
    """Set every parameter of model to zero; return how many values were zeroed."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    return sum(p.numel() for p in model.parameters())


def predict_from_checkpoint(model: nn.Module, filename: str, images: torch.Tensor, device: str = "cpu",
                            batch_size: int = 250) -> torch.Tensor:
    """Load the submitted state_dict `filename` into model and return its logits for images, on the CPU.

    The checkpoint is read with torch.load(weights_only=True): a file that needs arbitrary unpickling is
    refused without running it. Every problem is a ValueError or FileNotFoundError saying what to fix.
    """
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"{filename} was not found in your submission: save the trained model with "
                                f"torch.save(model.state_dict(), {filename!r}) and submit that file too")
    try:
        state = torch.load(filename, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read is the file's problem
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if unsafe:  # the pickle names a Python object to call: exactly what weights_only refuses to run
            raise ValueError(f"{filename} was refused: besides tensors it holds a pickled Python object "
                             f"({unsafe.group(1)}), and loading that could run arbitrary code. Save the "
                             f"state_dict only: torch.save(model.state_dict(), {filename!r}).") from None
        detail = str(exc).split("WeightsUnpickler error:")[-1].split("Check the documentation")[0]
        reason = re.sub(r"\s+", " ", detail).strip()[:200] or type(exc).__name__
        raise ValueError(f"{filename} could not be read ({type(exc).__name__}: {reason}); the file is damaged "
                         "or not a torch checkpoint. Save it again with torch.save(model.state_dict(), "
                         f"{filename!r}).") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{filename} should hold a state_dict (a dict of tensors), but it holds "
                         f"{type(state).__name__}; save it with torch.save(model.state_dict(), {filename!r})")
    problem = state_dict_mismatch(model, state)
    if problem:
        raise ValueError(f"{filename} does not fit your {type(model).__name__}: {problem}. Was it saved from "
                         "this architecture (same layers and sizes, num_classes=10)?")
    model.load_state_dict(state)
    model.to(device).eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            outputs.append(model(images[start:start + batch_size].to(device)).float().cpu())
    return torch.cat(outputs)


def state_dict_mismatch(model: nn.Module, state: dict) -> str:
    """What keeps `state` from loading into model: missing and unexpected keys, shape mismatches."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} is {tuple(state[k].shape)} in the file but {tuple(v.shape)} in the model"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    parts = []
    for title, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
        if items:
            more = f" and {len(items) - 4} more" if len(items) > 4 else ""
            parts.append(f"{title}: {', '.join(items[:4])}{more}")
    return "; ".join(parts)
