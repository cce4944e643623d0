"""Hidden tests of question 1 (convolution): generated calls and layers checked against PyTorch."""
import pytest
import torch
from hypothesis import given
from torch import nn

from autograder.sandbox.harness import summary
from ..checks import expect_close, expect_error, expect_int, show_call
from .checks import (VARIANTS, conv2d_output_shape, conv2d_reference, expect_conv2d_gradients,
                     expect_conv2d_output, expect_variant_output_shapes, show_conv_call, student_conv2d)
from .strategies import conv_cases, conv_layer_configs, variant_input_shapes

def meta_conv(**kwargs) -> nn.Conv2d:
    """A real nn.Conv2d without storage: enough for shapes and parameter counts."""
    return nn.Conv2d(**kwargs, device="meta")


# ---------------------------------------------------------------- conv2d

@pytest.mark.points(5)
@given(case=conv_cases())
def test_conv2d_matches_torch(student, case):
    expect_conv2d_output(student, *case.tensors(), **case.hyper())


@pytest.mark.points(5)
@given(case=conv_cases())
def test_conv2d_gradients_match_torch(student, case):
    x, weight, bias = case.tensors()
    grad_output = case.grad_output(conv2d_output_shape(x, weight, **case.hyper()))
    expect_conv2d_gradients(student, x, weight, bias, grad_output, **case.hyper())


@given(case=conv_cases(fits=False))
def test_conv2d_rejects_kernel_larger_than_padded_input(student, case):
    x, weight, bias = case.tensors()  # F.conv2d raises RuntimeError on these: the kernel does not fit
    expect_error(RuntimeError, "F.conv2d refuses it: the dilated kernel is larger than the padded input",
                 show_conv_call(x, weight, bias, **case.hyper()), student_conv2d(student), x, weight, bias,
                 **case.hyper())


@given(case=conv_cases(channels_match=False))
def test_conv2d_rejects_input_with_other_channel_count(student, case):
    x, weight, bias = case.tensors()
    expect_error(RuntimeError, f"F.conv2d refuses it: the input has {x.shape[1]} channels, the weight expects "
                 f"{weight.shape[1]}", show_conv_call(x, weight, bias, **case.hyper()), student_conv2d(student), x,
                 weight, bias, **case.hyper())


# ---------------------------------------------------------------- conv_variants

@pytest.mark.points(2)
def test_conv_variants_compute_the_slides_layers(student):
    """Each layer's output is F.conv2d with its own weight and bias and the slide's hyper-parameters."""
    layers = student.q1_conv.conv_variants()
    assert isinstance(layers, dict) and set(layers) == set(VARIANTS), (
        f"conv_variants() should return a dict with keys {sorted(VARIANTS)}, got {layers!r}")
    generator = torch.Generator().manual_seed(1)
    inputs = [torch.randn(shape, generator=generator) for shape in ((2, 16, 9, 7), (1, 16, 24, 31))]
    for name, kwargs in VARIANTS.items():
        layer = layers[name]
        hyper = {key: value for key, value in kwargs.items() if key != "kernel_size"}
        where = f"conv_variants()[{name!r}] (expected {show_call('nn.Conv2d', 16, 33, **kwargs)})"
        expected = summary(nn.Conv2d(16, 33, **kwargs))
        got = student.harness.summary(layer)
        assert got["parameters"] == expected["parameters"], (
            f"{where}: parameters {got['parameters']}, expected {expected['parameters']}")
        for x in inputs:
            reference = conv2d_reference(x, layer.weight, layer.bias, hyper)
            expect_close(layer(x), reference["output"], f"{where} on an input of shape {tuple(x.shape)}",
                         reference["output_allowed"], dtype=x.dtype)


# ---------------------------------------------------------------- variant_output_shapes

@pytest.mark.points(2)
@given(shape=variant_input_shapes())
def test_variant_output_shapes_match_the_real_layers(student, shape):
    meta_input = torch.empty(shape, device="meta")
    expected = {name: tuple(meta_conv(in_channels=16, out_channels=33, **kwargs)(meta_input).shape)
                for name, kwargs in VARIANTS.items()}
    expect_variant_output_shapes(student, shape, expected)


# ---------------------------------------------------------------- conv_param_count

@pytest.mark.points(2)
@given(config=conv_layer_configs())
def test_conv_param_count_matches_nn_conv2d(student, config):
    expected = sum(p.numel() for p in meta_conv(**config).parameters())
    expect_int(student.q1_conv.conv_param_count(**config), expected, show_call("conv_param_count", **config))
