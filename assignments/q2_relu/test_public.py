"""Public tests of question 2 (ReLU, leaky ReLU): the slide example, hand-made cases, gradients at 0, in-place, bans."""
import pytest
import torch
import torch.nn.functional as F

from ..checks import expect_banned_ops_unused, expect_close, expect_unchanged_input, show_tensor, show_tensor_call
from .checks import RECTIFIER_BANS, activation_allowance, activation_reference

# the 5x5 input of the slides' nn.ReLU() example
SLIDE_INPUT = torch.tensor([[0.7753, -1.6358, 1.1919, -0.6742, -0.4419],
                            [0.3367, -0.8557, 0.8647, -1.6617, 1.0797],
                            [-0.3697, -0.6958, -0.0910, 1.1365, 0.5092],
                            [-2.4236, 0.0714, -0.6627, -0.0876, 1.3807],
                            [0.5123, -0.9011, 1.3277, 0.3821, -1.7388]])
# small cases: both zeros, a 0-d tensor, an empty tensor, float64, float16, and a 3-d tensor
HAND_CASES = [
    torch.tensor([-2.0, -0.5, -0.0, 0.0, 0.5, 3.0]),
    torch.tensor(-1.5),
    torch.tensor(2.5, dtype=torch.float64),
    torch.zeros(0, 3),
    torch.tensor([[1.5, -1.5], [-1e-30, 1e-30]], dtype=torch.float64),
    torch.tensor([-65504.0, -1.0, 0.0, 1.0, 65504.0], dtype=torch.float16),
    torch.arange(-12.0, 12.0).reshape(2, 3, 4),
]
AT_ZERO = torch.tensor([-2.0, -0.0, 0.0, 0.5, 3.0])
GRAD_OUTPUT = torch.tensor([1.0, 2.0, -3.0, 4.0, -5.0])


def expect_relu(student, x):
    relu = student.q2_relu.relu.forbidding(*RECTIFIER_BANS)
    expected, _ = activation_reference(torch.relu, x)
    expect_close(relu(x), expected, show_tensor_call("relu", x), activation_allowance(x, x.dtype),
                 dtype=x.dtype)


# ---------------------------------------------------------------- relu

def test_relu_of_the_slide_matrix(student):
    expect_relu(student, SLIDE_INPUT)


def test_relu_hand_made_cases_keep_shape_and_dtype(student):
    for x in HAND_CASES:
        expect_relu(student, x)


def test_relu_gradient_is_zero_at_zero_and_for_negatives(student):
    relu = student.q2_relu.relu.forbidding(*RECTIFIER_BANS)
    call = show_tensor_call("relu", AT_ZERO) + f", backpropagating {show_tensor(GRAD_OUTPUT)}"
    _, grads = relu.gradients(AT_ZERO, grad_output=GRAD_OUTPUT)
    # d relu / dx is 1 where x > 0 and 0 where x <= 0, also at exactly 0.0 and -0.0
    expected = torch.tensor([0.0, 0.0, 0.0, 4.0, -5.0])
    assert grads[0] is not None, f"{call}: no gradient reached x; build the result from x with torch operations"
    expect_close(grads[0], expected, call, activation_allowance(GRAD_OUTPUT, torch.float32),
                 what="the gradient with respect to x")


def test_relu_leaves_its_input_unchanged(student):
    x = SLIDE_INPUT.clone()
    report = student.harness.watch_inputs(student.q2_relu.relu, x)
    expect_unchanged_input(report, x, show_tensor_call("relu", x))


def test_relu_and_leaky_relu_use_no_ready_made_rectifier(student):
    x = torch.tensor([-1.0, 0.0, 2.0])
    for name in ("relu", "leaky_relu"):
        expect_banned_ops_unused(getattr(student.q2_relu, name), RECTIFIER_BANS, show_tensor_call(name, x), x)


# ---------------------------------------------------------------- the ReLU module

def test_ReLU_module_returns_a_new_tensor_and_keeps_its_input(student):
    x = SLIDE_INPUT.clone()
    layer = student.q2_relu.ReLU()
    call = show_tensor_call("ReLU()", x)
    report = student.harness.watch_inputs(layer, x)
    expect_close(report["output"], torch.relu(x), call, activation_allowance(x, x.dtype))
    expect_unchanged_input(report, x, call)
    info = student.harness.summary(layer)
    assert "torch.nn.modules.module.Module" in info["is"], f"ReLU should subclass torch.nn.Module, it is {info['is']}"
    assert "torch.nn.modules.activation.ReLU" not in info["is"], (
        "ReLU subclasses torch.nn.ReLU; write it from torch.nn.Module and your own relu instead")


@pytest.mark.points(2)
def test_ReLU_inplace_overwrites_its_input_and_returns_it(student):
    x = SLIDE_INPUT.clone()
    call = show_tensor_call("ReLU(inplace=True)", x)
    report = student.harness.watch_inputs(student.q2_relu.ReLU(inplace=True), x)
    expect_close(report["output"], torch.relu(x), call, activation_allowance(x, x.dtype))
    expect_close(report["inputs_after"][0], torch.relu(x), call, activation_allowance(x, x.dtype),
                 what="x after the call (inplace=True writes the result into x)")
    assert report["returned"] == 0, (
        f"{call} returned a new tensor; with inplace=True return x itself, as nn.ReLU(inplace=True) does")


# ---------------------------------------------------------------- leaky_relu

def expect_leaky_relu(student, x, **slope):
    leaky_relu = student.q2_relu.leaky_relu.forbidding(*RECTIFIER_BANS)
    expected, _ = activation_reference(F.leaky_relu, x, **slope)
    expect_close(leaky_relu(x, **slope), expected, show_tensor_call("leaky_relu", x, **slope),
                 activation_allowance(x, x.dtype), dtype=x.dtype)


def test_leaky_relu_default_slope_is_0_01(student):
    for x in [torch.tensor([-2.0, -0.0, 0.0, 3.0]), SLIDE_INPUT, torch.tensor(-4.0, dtype=torch.float64)]:
        expect_leaky_relu(student, x)


def test_leaky_relu_with_the_slides_slope_0_1(student):
    # max(0.1x, x): -2.0 -> -0.2, 3.0 -> 3.0
    for x in [torch.tensor([-2.0, 3.0]), SLIDE_INPUT, torch.zeros(2, 0)]:
        expect_leaky_relu(student, x, negative_slope=0.1)


def test_leaky_relu_gradient_is_the_slope_at_zero_and_below(student):
    leaky_relu = student.q2_relu.leaky_relu.forbidding(*RECTIFIER_BANS)
    call = (show_tensor_call("leaky_relu", AT_ZERO, negative_slope=0.25)
            + f", backpropagating {show_tensor(GRAD_OUTPUT)}")
    _, grads = leaky_relu.gradients(AT_ZERO, negative_slope=0.25, grad_output=GRAD_OUTPUT)
    # 1 where x > 0, negative_slope where x <= 0 (also at exactly 0.0 and -0.0)
    expected = torch.tensor([0.25, 0.5, -0.75, 4.0, -5.0])
    assert grads[0] is not None, f"{call}: no gradient reached x; build the result from x with torch operations"
    expect_close(grads[0], expected, call, activation_allowance(GRAD_OUTPUT, torch.float32),
                 what="the gradient with respect to x")
