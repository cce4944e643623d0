"""Public tests of question 5 (fully connected layers): slide numbers, hand-made cases, gradients, parameters, bans."""
import math

import pytest
import torch

from ..checks import expect_banned_ops_unused, expect_close, expect_gradients_close, expect_int, show_tensor, show_tensor_call
from .checks import LINEAR_ARGUMENTS, LINEAR_BANS, expect_uniform_init, linear_reference

X = torch.tensor([[1.0, 2.0]])
WEIGHT = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
BIAS = torch.tensor([0.5, 0.0, -1.0])
FCNN_128X128 = [128 * 128, 256, 128, 64, 32, 16, 1]   # the slides' fully connected network
LENET_FC = [16 * 5 * 5, 120, 84, 10]


def seeded(*shape, seed, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def expect_linear(student, x, weight, bias=None):
    linear = student.q5_linear.linear.forbidding(*LINEAR_BANS)
    reference = linear_reference(x, weight, bias)
    got = linear(x, weight, bias) if bias is not None else linear(x, weight)
    call = show_tensor_call("linear", x, weight, *([] if bias is None else [bias]))
    expect_close(got, reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)


# ---------------------------------------------------------------- linear

def test_linear_hand_made_example(student):
    # x = [1, 2]; outputs 1 * 1 + 2 * 0 + 0.5, 1 * 0 + 2 * 1 + 0, 1 + 2 - 1
    expect_linear(student, X, WEIGHT, BIAS)


def test_linear_without_bias_and_with_any_leading_dimensions(student):
    expect_linear(student, X[0], WEIGHT)                                   # (in,) -> (out,)
    expect_linear(student, X, WEIGHT)
    expect_linear(student, seeded(128, 20, seed=1), seeded(30, 20, seed=2), seeded(30, seed=3))   # the slides
    expect_linear(student, seeded(2, 3, 4, 5, seed=4, dtype=torch.float64),
                  seeded(6, 5, seed=5, dtype=torch.float64), seeded(6, seed=6, dtype=torch.float64))


def test_linear_gradients_for_x_weight_and_bias(student):
    x, weight, bias = seeded(4, 5, seed=7), seeded(3, 5, seed=8), seeded(3, seed=9)
    grad_output = seeded(4, 3, seed=10)
    call = show_tensor_call("linear", x, weight, bias) + f", backpropagating {show_tensor(grad_output)}"
    linear = student.q5_linear.linear.forbidding(*LINEAR_BANS)
    output, grads = linear.gradients(x, weight, bias, grad_output=grad_output)
    reference = linear_reference(x, weight, bias, grad_output)
    expect_close(output, reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_gradients_close(grads, reference["grads"], reference["allowed"], call, LINEAR_ARGUMENTS, x.dtype)


def test_linear_uses_no_ready_made_linear_layer(student):
    expect_banned_ops_unused(student.q5_linear.linear, LINEAR_BANS, show_tensor_call("linear", X, WEIGHT, BIAS),
                             X, WEIGHT, BIAS)


# ---------------------------------------------------------------- the Linear module

def test_Linear_20_30_maps_a_batch_of_128_to_128_by_30(student):
    layer = student.q5_linear.Linear(20, 30)
    x = seeded(128, 20, seed=11)
    got = layer(x)
    reference = linear_reference(x, layer.weight, layer.bias)
    expect_close(got, reference["output"], show_tensor_call("Linear(20, 30)", x),
                 reference["allowed"]["output"], dtype=x.dtype)


@pytest.mark.parametrize("bias", [True, False])
def test_Linear_registers_weight_and_bias_as_parameters(student, bias):
    layer = student.q5_linear.Linear(20, 30, bias=bias)
    info = student.harness.summary(layer)
    call = f"Linear(20, 30, bias={bias})"
    assert "torch.nn.modules.module.Module" in info["is"], f"{call} should be a torch.nn.Module; it is {info['is']}"
    assert "torch.nn.modules.linear.Linear" not in info["is"], (
        f"{call} subclasses torch.nn.Linear; build it from torch.nn.Module and your own parameters instead")
    expected = {"weight": (30, 20), "bias": (30,)} if bias else {"weight": (30, 20)}
    assert info["parameters"] == expected, (
        f"{call} has the parameters {info['parameters']} (name: shape), expected {expected}. Wrap the tensors in "
        "nn.Parameter and assign them to self.weight and self.bias, so that parameters() finds them.")
    count = 630 if bias else 600
    assert info["parameter_count"] == count, f"{call} has {info['parameter_count']} parameters, expected {count}"
    if not bias:
        assert layer.bias is None, f"{call}: self.bias should be None, got {show_tensor(layer.bias)}"


@pytest.mark.points(2)
def test_Linear_initialisation_is_uniform_within_one_over_sqrt_in_features(student):
    # large layers, so that the uniform spread can be checked with a negligible chance of a false alarm
    weight = student.q5_linear.Linear(400, 120).weight          # LeNet's fc1: 48,000 weights, k = 1/20
    expect_uniform_init(weight, 1 / math.sqrt(400), "Linear(400, 120).weight", slack=0.03)
    bias = student.q5_linear.Linear(16, 4096).bias                # 4,096 biases, k = 1/4
    expect_uniform_init(bias, 1 / math.sqrt(16), "Linear(16, 4096).bias", slack=0.08)


# ---------------------------------------------------------------- mlp_param_count

def test_mlp_param_count_of_the_slides_fully_connected_network(student):
    got = student.q5_linear.mlp_param_count(FCNN_128X128)
    expect_int(got, 4_238_337, f"mlp_param_count({FCNN_128X128})")


def test_mlp_param_count_of_single_layers_and_lenet(student):
    for sizes, expected in (([20, 30], 630), ([30, 20], 620), ([1, 1], 2), (LENET_FC, 59_134)):
        expect_int(student.q5_linear.mlp_param_count(sizes), expected, f"mlp_param_count({sizes})")
