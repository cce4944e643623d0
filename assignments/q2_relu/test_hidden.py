"""Hidden tests of question 2 (ReLU, leaky ReLU): generated tensors checked against torch's own activations."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from ..checks import expect_close, expect_unchanged_input, show_tensor, show_tensor_call
from .checks import RECTIFIER_BANS, activation_allowance, activation_reference
from .strategies import activation_inputs, negative_slopes

GRADIENT_SEED = 12345  # grad_output tensors are drawn from the input's seed plus this


def slope_kwargs(slope):
    """None means: leave negative_slope out and rely on the default (0.01)."""
    return {} if slope is None else {"negative_slope": slope}


def expect_gradient(student, name, torch_function, recipe, **kwargs):
    x = recipe.make()
    grad_output = recipe.like(recipe.seed + GRADIENT_SEED).make()
    call = show_tensor_call(name, x, **kwargs) + f", backpropagating {show_tensor(grad_output)}"
    function = getattr(student.q2_relu, name).forbidding(*RECTIFIER_BANS)
    output, grads = function.gradients(x, grad_output=grad_output, **kwargs)
    expected, expected_grad = activation_reference(torch_function, x, grad_output, **kwargs)
    expect_close(output, expected, call, activation_allowance(x, x.dtype), dtype=x.dtype)
    assert grads[0] is not None, f"{call}: no gradient reached x; build the result from x with torch operations"
    expect_close(grads[0], expected_grad, call, activation_allowance(grad_output, x.dtype),
                 what="the gradient with respect to x", dtype=x.dtype)


# ---------------------------------------------------------------- relu

@pytest.mark.points(2)
@given(recipe=activation_inputs())
def test_relu_matches_torch_relu(student, recipe):
    x = recipe.make()
    expected, _ = activation_reference(torch.relu, x)
    got = student.q2_relu.relu.forbidding(*RECTIFIER_BANS)(x)
    expect_close(got, expected, show_tensor_call("relu", x), activation_allowance(x, x.dtype), dtype=x.dtype)


@pytest.mark.points(2)
@given(recipe=activation_inputs())
def test_relu_gradients_match_torch_relu(student, recipe):
    expect_gradient(student, "relu", torch.relu, recipe)


@given(recipe=activation_inputs())
def test_relu_never_changes_its_input(student, recipe):
    x = recipe.make()
    report = student.harness.watch_inputs(student.q2_relu.relu, x)
    expect_unchanged_input(report, x, show_tensor_call("relu", x))


# ---------------------------------------------------------------- the ReLU module

@pytest.mark.points(2)
@given(recipe=activation_inputs(), inplace=st.booleans())
def test_ReLU_module_behaves_like_nn_ReLU(student, recipe, inplace):
    x = recipe.make()
    expected = torch.nn.ReLU()(x)
    allowed = activation_allowance(x, x.dtype)
    call = show_tensor_call(f"ReLU(inplace={inplace})", x)
    report = student.harness.watch_inputs(student.q2_relu.ReLU(inplace=inplace), x)
    expect_close(report["output"], expected, call, allowed)
    if not inplace:
        expect_unchanged_input(report, x, call)
        return
    expect_close(report["inputs_after"][0], expected, call, allowed,
                 what="x after the call (inplace=True writes the result into x)")
    assert report["returned"] == 0, (
        f"{call} returned a new tensor; with inplace=True return x itself, as nn.ReLU(inplace=True) does")


# ---------------------------------------------------------------- leaky_relu

@pytest.mark.points(2)
@given(recipe=activation_inputs(), slope=negative_slopes())
def test_leaky_relu_matches_F_leaky_relu_and_keeps_its_input(student, recipe, slope):
    x = recipe.make()
    kwargs = slope_kwargs(slope)
    call = show_tensor_call("leaky_relu", x, **kwargs)
    expected, _ = activation_reference(F.leaky_relu, x, **kwargs)
    got = student.q2_relu.leaky_relu.forbidding(*RECTIFIER_BANS)(x, **kwargs)
    expect_close(got, expected, call, activation_allowance(x, x.dtype), dtype=x.dtype)
    report = student.harness.watch_inputs(student.q2_relu.leaky_relu, x, **kwargs)
    expect_unchanged_input(report, x, call)


@pytest.mark.points(2)
@given(recipe=activation_inputs(), slope=negative_slopes())
def test_leaky_relu_gradients_match_F_leaky_relu(student, recipe, slope):
    expect_gradient(student, "leaky_relu", F.leaky_relu, recipe, **slope_kwargs(slope))
