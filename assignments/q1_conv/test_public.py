"""Public tests of question 1 (convolution): the slides' example and layers, small cases against PyTorch."""
import pytest
import torch
from torch import nn

from autograder.sandbox.errors import ForbiddenCall
from autograder.sandbox.harness import summary
from ..checks import expect_error, expect_int, show_call
from .checks import (CONV_FUNCTIONS, VARIANTS, conv2d_output_shape, expect_conv2d_gradients, expect_conv2d_output,
                     expect_variant_output_shapes, show_conv_call, student_conv2d)

SLIDE_INPUT = torch.tensor([[[[12., 3., 19.], [25., 10., 1.], [9., 7., 17.]]]])
SLIDE_KERNEL = torch.tensor([[[[1., 2.], [3., 4.]]]])

VARIANT_INPUT_SHAPE = (20, 16, 50, 100)
COMPARED_HYPER = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                  "padding_mode")


def seeded(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---------------------------------------------------------------- conv2d

@pytest.mark.points(2)
def test_conv2d_slide_example_gives_133_75_100_101(student):
    expect_conv2d_output(student, SLIDE_INPUT, SLIDE_KERNEL)  # F.conv2d gives [[133, 75], [100, 101]]


def test_conv2d_does_not_call_torch_convolutions(student):
    x, weight = seeded(1, 2, 5, 5), seeded(3, 2, 3, 3, seed=1)
    try:
        student.q1_conv.conv2d.forbidding(*CONV_FUNCTIONS)(x, weight, None, stride=1, padding=1)
    except ForbiddenCall as exc:
        raise AssertionError(f"{exc}\nBuild the convolution from slicing, unfold, einsum or loops: "
                             "F.conv2d, nn.Conv2d and the other convolution functions are not allowed here."
                             ) from None


SMALL_CASES = [
    pytest.param((2, 3, 5, 6), (4, 3, 3, 3), True, {}, id="two_images_three_channels_with_bias"),
    pytest.param((1, 2, 7, 7), (2, 2, 3, 3), False, {"stride": 2}, id="stride_2"),
    pytest.param((1, 1, 4, 5), (1, 1, 3, 3), True, {"padding": 1}, id="padding_1_keeps_the_size"),
    pytest.param((1, 2, 8, 8), (3, 2, 3, 3), False, {"dilation": 2}, id="dilation_2"),
    pytest.param((2, 2, 9, 7), (3, 2, 3, 2), True, {"stride": (2, 1), "padding": (2, 1)},
                 id="non_square_kernel_stride_and_padding_pairs"),
    pytest.param((1, 3, 11, 8), (2, 3, 3, 2), True, {"stride": (1, 2), "padding": (4, 1), "dilation": (3, 2)},
                 id="every_pair_different"),
]


@pytest.mark.parametrize("x_shape, weight_shape, with_bias, hyper", SMALL_CASES)
def test_conv2d_matches_torch_on_small_cases(student, x_shape, weight_shape, with_bias, hyper):
    bias = seeded(weight_shape[0], seed=2) if with_bias else None
    expect_conv2d_output(student, seeded(*x_shape), seeded(*weight_shape, seed=1), bias, **hyper)


@pytest.mark.points(2)
def test_conv2d_gradients_match_torch(student):
    x = seeded(2, 2, 6, 5, dtype=torch.float64)
    weight = seeded(3, 2, 3, 2, seed=1, dtype=torch.float64)
    bias = seeded(3, seed=2, dtype=torch.float64)
    hyper = dict(stride=(1, 2), padding=1, dilation=(1, 2))
    grad_output = seeded(*conv2d_output_shape(x, weight, **hyper), seed=3, dtype=torch.float64)
    expect_conv2d_gradients(student, x, weight, bias, grad_output, **hyper)


def test_conv2d_rejects_kernel_larger_than_padded_input(student):
    # a 3x3 kernel with dilation 2 covers 5x5 pixels; the input padded by 1 has only 4x4
    x, weight = seeded(1, 1, 2, 2), seeded(1, 1, 3, 3, seed=1)
    expect_error(RuntimeError, "F.conv2d refuses it: the dilated kernel is larger than the padded input",
                 show_conv_call(x, weight, None, padding=1, dilation=2), student_conv2d(student), x, weight, None,
                 padding=1, dilation=2)


def test_conv2d_rejects_input_with_other_channel_count(student):
    x, weight = seeded(1, 3, 5, 5), seeded(2, 2, 3, 3, seed=1)
    expect_error(RuntimeError, "F.conv2d refuses it: the input has 3 channels, the weight expects 2",
                 show_conv_call(x, weight, None), student_conv2d(student), x, weight, None)


# ---------------------------------------------------------------- conv_variants

def test_conv_variants_are_the_slides_layers(student):
    layers = student.q1_conv.conv_variants()
    assert isinstance(layers, dict) and set(layers) == set(VARIANTS), (
        f"conv_variants() should return a dict with keys {sorted(VARIANTS)}, got {layers!r}")
    for name, kwargs in VARIANTS.items():
        expected = summary(nn.Conv2d(16, 33, **kwargs))
        got = student.harness.summary(layers[name])
        where = f"conv_variants()[{name!r}] (expected {show_call('nn.Conv2d', 16, 33, **kwargs)})"
        assert "torch.nn.modules.conv.Conv2d" in got["is"], f"{where} is a {got['type']}, not an nn.Conv2d"
        for key in COMPARED_HYPER:
            assert got["hyper"].get(key) == expected["hyper"][key], (
                f"{where}: {key} is {got['hyper'].get(key)!r}, expected {expected['hyper'][key]!r}")
        assert got["parameters"] == expected["parameters"], (
            f"{where}: parameters {got['parameters']}, expected {expected['parameters']}")


@pytest.mark.points(2)
def test_conv_variants_output_shapes_on_the_slides_input(student):
    x = seeded(*VARIANT_INPUT_SHAPE)
    layers = student.q1_conv.conv_variants()
    for name, kwargs in VARIANTS.items():
        expected = (len(x), *nn.Conv2d(16, 33, **kwargs)(x[:1]).shape[1:])  # torch's own shape, on one image
        got = layers[name](x)
        assert tuple(got.shape) == tuple(expected), (
            f"conv_variants()[{name!r}] on an input of shape {VARIANT_INPUT_SHAPE} gave an output of shape "
            f"{tuple(got.shape)}, expected {tuple(expected)} (from {show_call('nn.Conv2d', 16, 33, **kwargs)})")


# ---------------------------------------------------------------- variant_output_shapes

@pytest.mark.points(2)
def test_variant_output_shapes_on_the_slides_input(student):
    expected = {"square": (20, 33, 24, 49), "rect_padded": (20, 33, 28, 100), "dilated": (20, 33, 26, 100)}
    got, call = expect_variant_output_shapes(student, VARIANT_INPUT_SHAPE, expected)
    for name, shape in got.items():
        assert all(type(size) is int for size in shape), (
            f"{call}[{name!r}] is {shape!r}; use a tuple of Python ints")


# ---------------------------------------------------------------- conv_param_count

PARAM_COUNTS = [  # (arguments, keyword arguments, parameters of that nn.Conv2d)
    ((1, 3, 3), {}, 30),                  # the slides: 1 * 3 * 3 * 3 weights + 3 biases
    ((3, 3, 3), {}, 84),                  # the slides: 3 * 3 * 3 * 3 + 3
    ((3, 3, (3, 3)), {"bias": False}, 81),
    ((16, 33, (3, 5)), {}, 7953),         # the slides' rect_padded layer: 16 * 33 * 3 * 5 + 33
]


def test_conv_param_count_slide_numbers(student):
    for args, kwargs, expected in PARAM_COUNTS:
        got = student.q1_conv.conv_param_count(*args, **kwargs)
        expect_int(got, expected, show_call("conv_param_count", *args, **kwargs))
