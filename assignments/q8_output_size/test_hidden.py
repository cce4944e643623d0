"""Hidden tests of question 8 (output sizes): generated configurations checked against real torch.nn layers."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ..checks import expect_error, expect_flatten_size, expect_int, show_call, show_layers
from .strategies import (conv_dims, conv_dims_named_padding, conv_dims_not_fitting, conv_dims_same_strided,
                        layer_stacks, pool_dims, pool_dims_invalid, square_stacks)



def torch_layers(specs):
    """The layers of `specs` built here, in the grader, by torch.nn itself."""
    return [getattr(nn, name)(**kwargs) for name, kwargs in specs]


def torch_conv_size(size, kernel_size, stride, padding, dilation):
    """Height of nn.Conv2d's output for a size x 1 input (the width is left untouched)."""
    padding = padding if isinstance(padding, str) else (padding, 0)
    conv = nn.Conv2d(1, 1, (kernel_size, 1), stride=(stride, 1), padding=padding, dilation=(dilation, 1))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # padding="same" with an even kernel warns about a padded copy
        return conv(torch.zeros(1, 1, size, 1)).shape[2]


def torch_pool_size(pool_class, size, kernel_size, stride=None, padding=0, ceil_mode=False, dilation=None):
    """Height of a real nn.MaxPool2d / nn.AvgPool2d (dilation None) output for a size x 1 input."""
    stride = kernel_size if stride is None else stride
    extra = {} if dilation is None else {"dilation": (dilation, 1)}
    pool = pool_class((kernel_size, 1), stride=(stride, 1), padding=(padding, 0), ceil_mode=ceil_mode, **extra)
    return pool(torch.zeros(1, 1, size, 1)).shape[2]


def gradient_receptive_field(specs):
    """Receptive field measured with autograd, in the grader.

    Every window layer (conv or pool, as torch.nn built it: default strides included) becomes a 1-D
    convolution with all-one weights and no padding; the other layers are dropped. The input pixels
    with a nonzero gradient of output pixel 0 are exactly those it depends on: their span is the field.
    """
    signal = torch.zeros(1, 1, 1024, dtype=torch.float64, requires_grad=True)
    out = signal
    for layer in torch_layers(specs):
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel, stride, dilation = [value[0] if isinstance(value, tuple) else value  # square: (n, n)
                                        for value in (layer.kernel_size, layer.stride, getattr(layer, "dilation", 1))]
            out = F.conv1d(out, torch.ones(1, 1, kernel, dtype=torch.float64), stride=stride, dilation=dilation)
    out[0, 0, 0].backward()
    touched = signal.grad[0, 0].nonzero().flatten()
    return int(touched[-1] - touched[0] + 1)


# ---------------------------------------------------------------- conv_output_size

@pytest.mark.points(2)
@given(dims=conv_dims())
def test_conv_output_size_matches_conv2d(student, dims):
    expected = torch_conv_size(**dims)
    got = student.q8_output_size.conv_output_size(**dims)
    expect_int(got, expected, show_call("conv_output_size", **dims))


@given(dims=conv_dims_named_padding())
def test_conv_output_size_same_and_valid_padding_match_conv2d(student, dims):
    expected = torch_conv_size(**dims)
    got = student.q8_output_size.conv_output_size(**dims)
    expect_int(got, expected, show_call("conv_output_size", **dims))


@given(dims=conv_dims_not_fitting())
def test_conv_output_size_rejects_kernel_that_does_not_fit(student, dims):
    covered = dims["dilation"] * (dims["kernel_size"] - 1) + 1
    expect_error(ValueError, f"the dilated kernel covers {covered} pixels, more than the padded input",
                 show_call("conv_output_size", **dims), student.q8_output_size.conv_output_size, **dims)


@given(dims=conv_dims_same_strided())
def test_conv_output_size_rejects_same_padding_with_any_stride(student, dims):
    expect_error(ValueError, "nn.Conv2d refuses padding='same' with a stride",
                 show_call("conv_output_size", **dims), student.q8_output_size.conv_output_size, **dims)


# ---------------------------------------------------------------- pool_output_size

@pytest.mark.points(2)
@given(dims=pool_dims())
def test_pool_output_size_matches_max_pool2d(student, dims):
    expected = torch_pool_size(nn.MaxPool2d, **dims)
    got = student.q8_output_size.pool_output_size(**dims)
    expect_int(got, expected, show_call("pool_output_size", **dims))


@given(dims=pool_dims(dilation=False))
def test_pool_output_size_matches_avg_pool2d(student, dims):
    expected = torch_pool_size(nn.AvgPool2d, **dims)
    got = student.q8_output_size.pool_output_size(**dims)
    expect_int(got, expected, show_call("pool_output_size", **dims))


# (size, kernel_size, stride, padding, dilation) where rounding up alone would add a last window that starts
# past the input and its left padding; PyTorch drops it.
LAST_WINDOW_CASES = [(5, 2, 2, 1, 1), (4, 1, 2, 0, 1), (6, 2, 3, 0, 1), (7, 2, 2, 1, 1), (5, 3, 3, 1, 1),
                     (6, 2, 4, 1, 2)]


def test_pool_output_size_ceil_mode_drops_window_starting_past_the_input(student):
    for size, kernel, stride, padding, dilation in LAST_WINDOW_CASES:
        dims = dict(size=size, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=True)
        expected = torch_pool_size(nn.MaxPool2d, **dims)
        got = student.q8_output_size.pool_output_size(**dims)
        expect_int(got, expected, show_call("pool_output_size", **dims)
                   + " (the last window must start inside the input or the left padding: "
                   "(out - 1) * stride < size + padding)")


@given(dims=pool_dims_invalid())
def test_pool_output_size_rejects_what_max_pool2d_refuses(student, dims):
    reason = ("padding > kernel_size // 2" if dims["padding"] > dims["kernel_size"] // 2
              else "the window is longer than the padded input")
    expect_error(ValueError, f"nn.MaxPool2d refuses it: {reason}",
                 show_call("pool_output_size", **dims), student.q8_output_size.pool_output_size, **dims)


# ---------------------------------------------------------------- flatten_size

def torch_flatten_size(input_shape, specs):
    """Features after nn.Flatten, by running the layers (built here by torch.nn) on a zero image."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # padding="same" with an even kernel warns about a padded copy
        return nn.Sequential(*torch_layers(specs))(torch.zeros(1, *input_shape)).numel()


@pytest.mark.points(3)
@given(stack=layer_stacks())
def test_flatten_size_matches_running_the_layers(student, stack):
    input_shape, specs = stack
    expect_flatten_size(student, input_shape, specs, torch_flatten_size(input_shape, specs))


@pytest.mark.points(2)
@given(stack=layer_stacks(non_square=True))
def test_flatten_size_non_square_inputs_and_kernels(student, stack):
    input_shape, specs = stack
    expect_flatten_size(student, input_shape, specs, torch_flatten_size(input_shape, specs))


UNSUPPORTED = {"Linear": {"in_features": 4, "out_features": 2}, "Flatten": {}}


@given(stack=layer_stacks(), unsupported=st.sampled_from(sorted(UNSUPPORTED)), position=st.integers(0, 7))
def test_flatten_size_rejects_unsupported_layers(student, stack, unsupported, position):
    input_shape, specs = stack
    specs = list(specs)
    specs.insert(min(position, len(specs)), (unsupported, UNSUPPORTED[unsupported]))
    call = f"flatten_size({input_shape}, {show_layers(specs)})"
    error = expect_error(TypeError, f"it cannot handle a {unsupported} layer", call,
                         student.q8_output_size.flatten_size, input_shape, student.harness.build_layers(specs))
    assert unsupported in error.message, (
        f"{call}: the TypeError should name the layer ({unsupported}); its message was {error.message!r}")


# ---------------------------------------------------------------- receptive_field

@pytest.mark.points(2)
@given(specs=square_stacks())
def test_receptive_field_matches_gradient_measurement(student, specs):
    expected = gradient_receptive_field(specs)
    got = student.q8_output_size.receptive_field(student.harness.build_layers(specs))
    expect_int(got, expected, f"receptive_field({show_layers(specs)})")


NON_SQUARE = [
    [("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": (3, 1)})],
    [("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 3}),
     ("MaxPool2d", {"kernel_size": 2, "stride": (2, 1)})],
    [("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": (1, 2)})],
    [("AvgPool2d", {"kernel_size": (2, 3)})],
]


def test_receptive_field_rejects_non_square_and_unknown_layers(student):
    cases = [(specs, ValueError, "a layer is not square") for specs in NON_SQUARE]
    cases.append(([("Linear", UNSUPPORTED["Linear"])], TypeError, "it cannot handle a Linear layer"))
    for specs, error, reason in cases:
        expect_error(error, reason, f"receptive_field({show_layers(specs)})",
                     student.q8_output_size.receptive_field, student.harness.build_layers(specs))
