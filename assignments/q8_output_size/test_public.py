"""Public tests of question 8 (output sizes): the numbers from the slides and the errors to raise."""
import pytest
import torch
from torch import nn

from ..checks import expect_error, expect_flatten_size, expect_int, show_call, show_layers

LENET = [
    ("Conv2d", {"in_channels": 3, "out_channels": 6, "kernel_size": 5}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Conv2d", {"in_channels": 6, "out_channels": 16, "kernel_size": 5}),
    ("MaxPool2d", {"kernel_size": 2}),
]
FASHION_MNIST_CONVNET = [
    ("Conv2d", {"in_channels": 1, "out_channels": 6, "kernel_size": 5}),
    ("ReLU", {}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Conv2d", {"in_channels": 6, "out_channels": 16, "kernel_size": 5}),
    ("ReLU", {}),
    ("MaxPool2d", {"kernel_size": 2}),
]
BIRDS_VS_AIRPLANES_NET = [
    ("Conv2d", {"in_channels": 3, "out_channels": 16, "kernel_size": 3, "padding": 1}),
    ("Tanh", {}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Conv2d", {"in_channels": 16, "out_channels": 8, "kernel_size": 3, "padding": 1}),
    ("Tanh", {}),
    ("MaxPool2d", {"kernel_size": 2}),
]


# ---------------------------------------------------------------- conv_output_size

def test_conv_output_size_kernel_5_on_28_pixels_gives_24(student):
    # the slide: nn.Conv2d(1, 8, 5) on a 1x28x28 image gives 8x24x24
    expected = nn.Conv2d(1, 8, 5)(torch.zeros(1, 1, 28, 28)).shape[-1]
    got = student.q8_output_size.conv_output_size(28, 5)
    expect_int(got, expected, show_call("conv_output_size", 28, 5))


def test_conv_output_size_padding_2_keeps_28_and_14(student):
    # the slide: kernel 5, padding 2, stride 1 keeps 28 (and 14 after a 2x2 pool)
    for size in (28, 14):
        got = student.q8_output_size.conv_output_size(size, 5, padding=2)
        expect_int(got, size, show_call("conv_output_size", size, 5, padding=2))


def test_conv_output_size_stride_2_with_padding_1(student):
    got = student.q8_output_size.conv_output_size(7, 3, stride=2, padding=1)
    expect_int(got, 4, show_call("conv_output_size", 7, 3, stride=2, padding=1))


def test_conv_output_size_padding_same_and_valid(student):
    # the slide: nn.Conv2d(1, 8, 5, padding="same") keeps 28x28; "valid" means no padding
    got = student.q8_output_size.conv_output_size(28, 5, padding="same")
    expect_int(got, 28, show_call("conv_output_size", 28, 5, padding="same"))
    got = student.q8_output_size.conv_output_size(28, 5, padding="valid")
    expect_int(got, 24, show_call("conv_output_size", 28, 5, padding="valid"))


def test_conv_output_size_rejects_kernel_longer_than_padded_input(student):
    cases = [dict(size=3, kernel_size=5), dict(size=1, kernel_size=2),
             dict(size=4, kernel_size=3, dilation=2), dict(size=1, kernel_size=5, padding=1)]
    for kwargs in cases:
        expect_error(ValueError, "the kernel does not fit in the padded input",
                     show_call("conv_output_size", **kwargs), student.q8_output_size.conv_output_size, **kwargs)


def test_conv_output_size_rejects_same_padding_with_stride_2(student):
    kwargs = dict(size=28, kernel_size=5, stride=2, padding="same")
    expect_error(ValueError, "nn.Conv2d refuses padding='same' with a stride",
                 show_call("conv_output_size", **kwargs), student.q8_output_size.conv_output_size, **kwargs)


# ---------------------------------------------------------------- pool_output_size

def test_pool_output_size_stride_defaults_to_kernel_size(student):
    # the slide: nn.MaxPool2d(5) on 28x28 gives 5x5; nn.MaxPool2d(2) gives 14x14, then 7x7
    for size, kernel in ((28, 5), (28, 2), (14, 2)):
        expected = nn.MaxPool2d(kernel)(torch.zeros(1, 1, size, size)).shape[-1]
        got = student.q8_output_size.pool_output_size(size, kernel)
        expect_int(got, expected, show_call("pool_output_size", size, kernel))


def test_pool_output_size_ceil_mode_keeps_partial_window(student):
    for ceil_mode, expected in ((False, 3), (True, 4)):
        got = student.q8_output_size.pool_output_size(7, 2, ceil_mode=ceil_mode)
        expect_int(got, expected, show_call("pool_output_size", 7, 2, ceil_mode=ceil_mode))


def test_pool_output_size_rejects_window_longer_than_input(student):
    expect_error(ValueError, "the window does not fit", show_call("pool_output_size", 3, 5),
                 student.q8_output_size.pool_output_size, 3, 5)


# ---------------------------------------------------------------- flatten_size

@pytest.mark.parametrize("input_shape, specs, expected", [
    pytest.param((3, 32, 32), LENET, 400, id="lenet_cifar10_gives_400"),
    pytest.param((1, 28, 28), FASHION_MNIST_CONVNET, 256, id="fashion_mnist_convnet_gives_256"),
    pytest.param((3, 32, 32), BIRDS_VS_AIRPLANES_NET, 512, id="birds_vs_airplanes_net_gives_512"),
])
def test_flatten_size_of_slide_networks(student, input_shape, specs, expected):
    expect_flatten_size(student, input_shape, specs, expected)


def test_flatten_size_rejects_linear_layer(student):
    specs = [("Conv2d", {"in_channels": 1, "out_channels": 6, "kernel_size": 5}),
             ("Linear", {"in_features": 24, "out_features": 10})]
    call = f"flatten_size((1, 28, 28), {show_layers(specs)})"
    error = expect_error(TypeError, "it cannot handle a Linear layer", call, student.q8_output_size.flatten_size,
                         (1, 28, 28), student.harness.build_layers(specs))
    assert "Linear" in error.message, (
        f"{call}: the TypeError should name the layer (Linear); its message was {error.message!r}")


# ---------------------------------------------------------------- receptive_field

def test_receptive_field_conv3_pool2_conv3_is_8(student):
    specs = [("Conv2d", {"in_channels": 3, "out_channels": 16, "kernel_size": 3}),
             ("MaxPool2d", {"kernel_size": 2}),
             ("Conv2d", {"in_channels": 16, "out_channels": 8, "kernel_size": 3})]
    got = student.q8_output_size.receptive_field(student.harness.build_layers(specs))
    expect_int(got, 8, f"receptive_field({show_layers(specs)})")
