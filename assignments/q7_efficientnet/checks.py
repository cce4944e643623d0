"""Checks for q7 (EfficientNet): torchvision references, same-weight comparisons and structure, for feedback."""
from __future__ import annotations

import contextlib
import functools
import math
import zlib

import torch
from torch import nn
from torchvision.models import efficientnet as tv

from autograder.sandbox.errors import StudentError
from ..checks import ANY_DTYPE, Tolerance, allowance, describe_error, expect_close, mismatches

MODULE = "q7_efficientnet"
OWN_LAYERS = ("torch.nn.", f"{MODULE}.")  # where the classes of a student's layers may come from
BATCHNORM = "torch.nn.modules.batchnorm._BatchNorm"
DROPOUT = "torch.nn.modules.dropout.Dropout"
STOCHASTIC_DEPTH = f"{MODULE}.StochasticDepth"
# Same-weight outputs are computed in float64 on both sides: rounding differs by ~1e-13 between correct
# implementations, while any change of the architecture moves outputs by far more than this bound.
SAME_WEIGHTS_TOLERANCE = 1e-6
CONFIG_FIELDS = ("expand_ratio", "kernel", "stride", "in_channels", "out_channels", "layers")


def show_config(fields) -> str:
    return "MBConvConfig(" + ", ".join(f"{n}={v}" for n, v in zip(CONFIG_FIELDS, fields)) + ")"


def student_configs(student, table) -> list:
    """The student's MBConvConfig objects (built in the worker) for rows of plain data."""
    return [student.q7_efficientnet.MBConvConfig(*row.fields()) for row in table]


def student_mbconv(student, block, stochastic_depth_prob: float) -> tuple:
    """The student's MBConv(MBConvConfig(*block.fields()), stochastic_depth_prob), built in the worker, and the
    call as feedback shows it; the call failing fails the test."""
    q7 = student.q7_efficientnet
    call = f"MBConv({show_config(block.fields())}, {stochastic_depth_prob})"
    return call_student(call, q7.MBConv, q7.MBConvConfig(*block.fields()), stochastic_depth_prob), call


def torchvision_mbconv(block, stochastic_depth_prob: float) -> nn.Module:
    """torchvision's MBConv for the same block (with nn.BatchNorm2d, as EfficientNet builds it)."""
    return tv.MBConv(tv.MBConvConfig(*block.fields()), stochastic_depth_prob, nn.BatchNorm2d)


def config_fields(remote) -> tuple:
    """The six fields of an MBConvConfig living in the worker."""
    return tuple(getattr(remote, name) for name in CONFIG_FIELDS)


def call_student(call: str, function, *args, **kwargs):
    """function(*args, **kwargs); a student exception fails the test with `call` and the traceback."""
    try:
        return function(*args, **kwargs)
    except StudentError as exc:
        raise AssertionError(f"{call} raised {describe_error(exc)}") from None


@contextlib.contextmanager
def one_thread():
    """Reference computations in one thread: faster for these small models on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------- structure (from harness.summary)

def walk(node: dict, path: str = ""):
    """(path, summary) of a module and every module inside it, in registration order."""
    yield path, node
    for name, child in node["children"].items():
        yield from walk(child, f"{path}.{name}" if path else name)


def expect_own_layers(node: dict, what: str) -> None:
    """Every layer inside must be a torch.nn class or one defined in the student's file."""
    for path, sub in walk(node):
        foreign = [kind for kind in sub["is"] if not kind.startswith(OWN_LAYERS)]
        if foreign:
            where = f"{what}.{path}" if path else what
            origin = ("torchvision (torchvision.models and torchvision.ops are not allowed)"
                      if foreign[0].startswith("torchvision") else f"{foreign[0].rsplit('.', 1)[0]}")
            raise AssertionError(f"{where} is a {sub['type']}, which comes from {origin}. Build the model from "
                                 f"torch.nn layers and the classes of your {MODULE}.py.")


def reference_counts(model: nn.Module) -> dict:
    """Parameter counts of a torchvision EfficientNet: total, per features[i], per block of each stage."""
    def count(module):
        return sum(p.numel() for p in module.parameters())
    stages = [[count(block) for block in stage] for stage in list(model.features)[1:-1]]
    return {"total": count(model), "features": [count(f) for f in model.features], "stages": stages}


@functools.lru_cache(maxsize=None)
def torchvision_variant(name: str, num_classes: int) -> nn.Module:
    """torchvision's efficientnet_<name> without storage (meta device): enough for counts and attributes."""
    with torch.device("meta"):
        return getattr(tv, f"efficientnet_{name}")(num_classes=num_classes)


def expect_counts(node: dict, reference: dict, what: str, built_by: str) -> None:
    """The student's model has the reference's parameter counts, in total and layer by layer."""
    features = node["children"].get("features")
    assert features is not None, f"{what} has no attribute `features` (an nn.Sequential: stem, stages, head)"
    stages = len(reference["stages"])
    got_features = [child["parameter_count"] for child in features["children"].values()]
    assert len(got_features) == stages + 2, (
        f"{what}.features holds {len(got_features)} modules, expected {stages + 2}: the stem, one nn.Sequential "
        f"per stage ({stages}), the head")
    for index, (got, expected) in enumerate(zip(got_features, reference["features"])):
        if got == expected:
            continue
        message = f"{what}.features[{index}] has {got:,} parameters, {built_by} has {expected:,}"
        if 0 < index <= stages:
            blocks = [child["parameter_count"] for child in list(features["children"].values())[index]["children"]
                      .values()]
            expected_blocks = reference["stages"][index - 1]
            if len(blocks) != len(expected_blocks):
                message += f" (this stage has {len(blocks)} blocks, expected {len(expected_blocks)})"
            elif blocks != expected_blocks:
                first = next(j for j, (a, b) in enumerate(zip(blocks, expected_blocks)) if a != b)
                message += (f"; the first block that differs is features[{index}][{first}]: {blocks[first]:,} "
                            f"parameters, expected {expected_blocks[first]:,}")
        else:
            message += " (" + ("the stem" if index == 0 else "the head") + ")"
        raise AssertionError(message)
    assert node["parameter_count"] == reference["total"], (
        f"{what} has {node['parameter_count']:,} parameters, {built_by} has {reference['total']:,} (features "
        "match: check the classifier)")


def expect_stochastic_depth(node: dict, expected: list[list[float | None]], what: str) -> None:
    """Each residual block holds a StochasticDepth whose p is expected[stage][block] (None: no residual)."""
    assert "features" in node["children"], f"{what} has no attribute `features` (stem, stages, head)"
    stages = list(node["children"]["features"]["children"].values())[1:-1]
    assert len(stages) == len(expected), f"{what}.features should hold {len(expected)} stages between stem and head"
    for s, (stage, probabilities) in enumerate(zip(stages, expected), start=1):
        assert len(stage["children"]) == len(probabilities), (
            f"{what}.features[{s}] should hold {len(probabilities)} blocks, it holds {len(stage['children'])}")
        for j, (block, p) in enumerate(zip(stage["children"].values(), probabilities)):
            if p is None:
                continue
            found = [sub for _, sub in walk(block) if STOCHASTIC_DEPTH in sub["is"]]
            where = f"{what}.features[{s}][{j}]"
            assert found, f"{where} adds its input back, but holds no StochasticDepth module"
            got = found[0]["hyper"].get("p")
            assert isinstance(got, float | int) and math.isclose(got, p, rel_tol=1e-9, abs_tol=1e-12), (
                f"{where}: its StochasticDepth has p = {got!r}, expected {p:.6g} (stochastic_depth_prob * i / "
                "total blocks, i counting blocks from 0 over all stages)")


def dropout_probability(node: dict, what: str) -> float:
    classifier = node["children"].get("classifier")
    assert classifier is not None, f"{what} has no attribute `classifier` (nn.Sequential(Dropout, Linear))"
    found = [sub for _, sub in walk(classifier) if DROPOUT in sub["is"]]
    assert found, f"{what}.classifier holds no nn.Dropout"
    return found[0]["hyper"]["p"]


# ---------------------------------------------------------------- same weights on both sides

def canonical_shape(shape) -> tuple:
    """A parameter's shape without trailing 1s: a 1x1 conv weight (S, C, 1, 1) and a Linear weight (S, C) agree."""
    shape = list(shape)
    while len(shape) > 1 and shape[-1] == 1:
        shape.pop()
    return tuple(shape)


def weight_value(name: str, shape, seed: int) -> torch.Tensor:
    """A float64 value that depends only on (weight or bias, the shape, seed): every parameter of the same
    kind and shape gets the same one, so the order in which a model registers its layers does not matter.
    Matrices and kernels get variance 1 / fan_in, vectors named weight (BatchNorm scales) 0.5-1.5, biases
    -0.5-0.5."""
    return _value(name.rsplit(".", 1)[-1] == "weight", canonical_shape(shape), seed).reshape(tuple(shape))


@functools.lru_cache(maxsize=512)
def _value(weight: bool, key: tuple, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 7919 + zlib.crc32(repr((weight, key)).encode()))
    uniform = torch.rand(key, generator=generator, dtype=torch.float64)
    if len(key) > 1:
        return (2 * uniform - 1) * math.sqrt(3 / math.prod(key[1:]))
    return uniform + 0.5 if weight else uniform - 0.5


class Weights(dict):
    """A state_dict to send to the worker; it crosses as a plain dict, and feedback names it briefly."""

    def __repr__(self) -> str:
        return f"<{len(self)} parameters>"


def reference_output(reference: nn.Module, x: torch.Tensor, seed: int, eps: list[float]) -> torch.Tensor:
    """The reference's output in eval mode and float64, holding weight_value's weights; its BatchNorm layers get
    the eps values `eps` in order (one value: all of them)."""
    norms = [m for m in reference.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for index, norm in enumerate(norms):
        norm.eps = eps[index] if len(eps) == len(norms) else eps[0] if eps else norm.eps
    reference = reference.double().eval()
    with torch.no_grad(), one_thread():
        for name, parameter in reference.named_parameters():
            parameter.copy_(weight_value(name, parameter.shape, seed))
        return reference(x)


def same_weights_tolerance(expected: torch.Tensor) -> Tolerance:
    """SAME_WEIGHTS_TOLERANCE * max(1, max |expected|), for every value of a same-weights output."""
    return allowance(SAME_WEIGHTS_TOLERANCE * max(1.0, expected.abs().max().item()),
                     f"{SAME_WEIGHTS_TOLERANCE:g} * max(1, largest |expected|)")


def expect_same_outputs(module, node: dict, reference: nn.Module, x: torch.Tensor, call: str, seed: int = 0) -> None:
    """The student's module and the reference, both holding weight_value's weights, in eval mode and float64,
    give the same output on x. The contract leaves BatchNorm's eps open: the reference uses the student's."""
    values = Weights({name: weight_value(name, shape, seed) for name, shape in node["parameters"].items()})
    norms = [path for path, sub in walk(node) if BATCHNORM in sub["is"]]
    first_eps = [module.get_submodule(norms[0]).eps] if norms else []
    module = call_student(f"{call}.double()", module.double)
    call_student(f"{call}.load_state_dict(...)", module.load_state_dict, values, strict=False)
    call_student(f"{call}.eval()", module.eval)
    got = call_student(f"{call} on a batch of shape {tuple(x.shape)}", module, x)
    expected = reference_output(reference, x, seed, first_eps)
    if (isinstance(got, torch.Tensor) and got.shape == expected.shape and norms
            and mismatches(got, expected, same_weights_tolerance(expected))[0].any()):
        eps = [module.get_submodule(path).eps for path in norms]  # rare: BatchNorm layers with different eps
        if len(set(eps)) > 1:
            expected = reference_output(reference, x, seed, eps)
    expect_close(got, expected, f"{call} on a batch of shape {tuple(x.shape)} (both models in eval mode and "
                 "float64, every parameter set to a value that depends only on its shape and on being a weight or "
                 "a bias)", same_weights_tolerance(expected), dtype=ANY_DTYPE)


def seeded(shape, seed: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=torch.Generator().manual_seed(seed), dtype=dtype)


def nonzero_seeded(shape, seed: int, dtype=torch.float64) -> torch.Tensor:
    """Values of magnitude 0.5 to 1.5 with random signs: no zero, so out / x is always defined."""
    generator = torch.Generator().manual_seed(seed)
    magnitude = torch.rand(tuple(shape), generator=generator, dtype=dtype) + 0.5
    return torch.where(torch.rand(tuple(shape), generator=generator) < 0.5, -magnitude, magnitude)


def torchvision_table(table) -> list:
    """torchvision's MBConvConfig for rows of plain data (channels multiples of 8: torchvision keeps them)."""
    return [tv.MBConvConfig(*row.fields()) for row in table]


def residual_probabilities(model: nn.Module) -> list[list[float | None]]:
    """Per stage and block of a torchvision EfficientNet: its stochastic-depth p, None where it has no residual."""
    return [[block.stochastic_depth.p if block.use_res_connect else None for block in stage]
            for stage in list(model.features)[1:-1]]
