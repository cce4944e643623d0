"""Hidden tests of question 5 (fully connected layers): generated shapes checked against F.linear and nn.Linear."""
import math

import pytest
import torch
from hypothesis import given
from torch import nn

from ..checks import expect_close, expect_gradients_close, expect_int, show_tensor, show_tensor_call
from .checks import LINEAR_ARGUMENTS, LINEAR_BANS, expect_uniform_init, linear_reference
from .strategies import LinearCase, linear_cases, linear_layer_cases, mlp_sizes

# With at least this many values drawn uniformly from [-k, k], the largest is above k/2 and the smallest
# below -k/2 except with probability 2 * 0.75**200 < 1e-24.
SPREAD_CHECK_SIZE = 200


def linear_call(x, weight, bias, grad_output=None) -> str:
    call = show_tensor_call("linear", x, weight, *([] if bias is None else [bias]))
    return call if grad_output is None else call + f", backpropagating {show_tensor(grad_output)}"


def call_linear(function, x, weight, bias, **kwargs):
    """Leave bias out when it is None, as a student would."""
    args = (x, weight) if bias is None else (x, weight, bias)
    return function(*args, **kwargs)


# ---------------------------------------------------------------- linear

@pytest.mark.points(3)
@given(case=linear_cases())
def test_linear_matches_F_linear(student, case):
    x, weight, bias = case.tensors()
    reference = linear_reference(x, weight, bias)
    got = call_linear(student.q5_linear.linear.forbidding(*LINEAR_BANS), x, weight, bias)
    expect_close(got, reference["output"], linear_call(x, weight, bias), reference["allowed"]["output"],
                 dtype=x.dtype)


@pytest.mark.points(3)
@given(case=linear_cases())
def test_linear_gradients_match_F_linear(student, case):
    x, weight, bias = case.tensors()
    grad_output = case.grad_output()
    call = linear_call(x, weight, bias, grad_output)
    linear = student.q5_linear.linear.forbidding(*LINEAR_BANS)
    output, grads = call_linear(linear.gradients, x, weight, bias, grad_output=grad_output)
    reference = linear_reference(x, weight, bias, grad_output)
    expect_close(output, reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_gradients_close(grads, reference["grads"], reference["allowed"], call, LINEAR_ARGUMENTS, x.dtype)


# ---------------------------------------------------------------- the Linear module

def build_layer(student, case: LinearCase):
    """The student's Linear for the case's sizes, and how feedback shows it."""
    call = f"Linear({case.in_features}, {case.out_features}, bias={case.bias})"
    return student.q5_linear.Linear(case.in_features, case.out_features, bias=case.bias), call


@pytest.mark.points(2)
@given(case=linear_layer_cases())
def test_Linear_module_parameters_and_forward(student, case):
    layer, call = build_layer(student, case)
    info = student.harness.summary(layer)
    expected = {"weight": (case.out_features, case.in_features)}
    if case.bias:
        expected["bias"] = (case.out_features,)
    assert info["parameters"] == expected, (
        f"{call} has the parameters {info['parameters']} (name: shape), expected {expected}")
    hyper = (info["hyper"].get("in_features"), info["hyper"].get("out_features"))
    assert hyper == (case.in_features, case.out_features), (
        f"{call}: self.in_features and self.out_features should be {case.in_features} and {case.out_features}, "
        f"got {hyper[0]} and {hyper[1]}")
    # forward on an input with the case's leading dimensions, and the gradient that flows back to it
    x, grad_output = case.tensors()[0], case.grad_output()
    output, grads = layer.forbidding(*LINEAR_BANS).gradients(x, grad_output=grad_output)
    reference = linear_reference(x, layer.weight, layer.bias, grad_output)
    forward_call = show_tensor_call(call, x) + f", backpropagating {show_tensor(grad_output)}"
    expect_close(output, reference["output"], forward_call, reference["allowed"]["output"], dtype=x.dtype)
    expect_gradients_close(grads, {0: reference["grads"][0]}, reference["allowed"], forward_call, LINEAR_ARGUMENTS,
                           x.dtype)


# (in_features, out_features, bias): bounds from 1 to 1/20; weights and biases of 200+ values get the spread check
INIT_LAYERS = [(1, 300, True), (2, 250, True), (3, 7, True), (5, 64, False), (7, 512, True), (20, 30, True),
               (64, 16, True), (120, 84, False), (400, 120, True), (1000, 3, True)]


@pytest.mark.points(2)
def test_Linear_initialisation_stays_within_one_over_sqrt_in_features(student):
    # not a Hypothesis test: the values are random by design, so each layer size is checked once
    for in_features, out_features, bias in INIT_LAYERS:
        call = f"Linear({in_features}, {out_features}, bias={bias})"
        layer = student.q5_linear.Linear(in_features, out_features, bias=bias)
        bound = 1 / math.sqrt(in_features)
        for name in ("weight", "bias") if bias else ("weight",):
            values = getattr(layer, name)
            assert isinstance(values, torch.Tensor) and values.dtype == torch.float32, (
                f"{call}.{name} should be a float32 tensor, got {show_tensor(values)}")
            expect_uniform_init(values, bound, f"{call}.{name}")
            if values.numel() >= SPREAD_CHECK_SIZE:
                assert values.max() > bound / 2 and values.min() < -bound / 2, (
                    f"{call}.{name}: its {values.numel()} values lie between {values.min():.4g} and "
                    f"{values.max():.4g}; drawn uniformly from [-{bound:.4g}, {bound:.4g}] they would cover most "
                    "of that interval")


# ---------------------------------------------------------------- mlp_param_count

def torch_param_count(sizes) -> int:
    """Parameters of real nn.Linear layers (on the meta device: shapes only, no memory)."""
    layers = [nn.Linear(a, b, device="meta") for a, b in zip(sizes[:-1], sizes[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


@pytest.mark.points(2)
@given(sizes=mlp_sizes())
def test_mlp_param_count_matches_nn_Linear_stacks(student, sizes):
    expect_int(student.q5_linear.mlp_param_count(sizes), torch_param_count(sizes), f"mlp_param_count({sizes})")
