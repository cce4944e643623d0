"""Public tests of question 3 (max pooling): the slides' examples, small hand cases, errors and the two layers."""
import pytest
import torch
import torch.nn.functional as F

from ..checks import backpropagate, exact, expect_close
from ..pooling_checks import MAX_POOLING, SLIDE_WINDOWS

SLIDE_GRID = torch.tensor([[[[1., 3, 2, 9], [7, 4, 1, 5], [8, 5, 2, 3], [4, 2, 1, 4]]]])
# (student, x, *args, **kwargs): exactly F.max_pool2d's values
expect_like_torch = MAX_POOLING.expect_like_torch


def test_max_pool2d_slide_example_2x2_stride_2(student):
    MAX_POOLING.expect_slide_example(student, SLIDE_GRID, torch.tensor([[[[7., 9.], [8., 4.]]]]))


def test_max_pool2d_does_not_use_torch_pooling(student):
    MAX_POOLING.expect_no_banned_pooling(student)


def test_max_pool2d_stride_defaults_to_kernel_size(student):
    # the slides: nn.MaxPool2d(2) turns a (1, 3, 32, 32) image into (1, 3, 16, 16)
    MAX_POOLING.expect_stride_defaulting_to_kernel_size(student)


@pytest.mark.parametrize("name", sorted(SLIDE_WINDOWS))
def test_max_pool2d_reproduces_the_slide_layers_on_the_slide_input(student, name):
    MAX_POOLING.expect_slide_layer_on_the_slide_input(student, name)


def test_max_pool2d_pads_with_minus_infinity(student):
    # every value is negative: a zero in the padding must never win
    x = -1.0 - torch.arange(2 * 5 * 5, dtype=torch.float64).reshape(1, 2, 5, 5)
    expect_like_torch(student, x, 3, stride=2, padding=1)
    expect_like_torch(student, x, (3, 2), stride=1, padding=(1, 0))


def test_max_pool2d_dilation_spaces_the_taps(student):
    x = torch.arange(36.0).reshape(1, 1, 6, 6).flip(-1) * torch.tensor([1.0, -1.0]).repeat(3)
    expect_like_torch(student, x, 2, stride=1, dilation=2)
    expect_like_torch(student, x, (2, 3), stride=(2, 1), dilation=(3, 2))


def test_max_pool2d_ceil_mode_keeps_a_last_partial_window(student):
    x = torch.randn(1, 2, 5, 7, generator=torch.Generator().manual_seed(1))
    expect_like_torch(student, x, 2, ceil_mode=True)            # 3 x 4 windows instead of 2 x 3
    expect_like_torch(student, x, 3, stride=2, ceil_mode=True)


def test_max_pool2d_ceil_mode_drops_a_window_starting_in_the_padding(student):
    # 5 pixels, kernel 2, stride 2, padding 1: rounding up gives 4 windows, but the 4th would start at
    # 3 * 2 - 1 = 5, past the input: PyTorch keeps 3
    x = torch.randn(1, 1, 5, 5, generator=torch.Generator().manual_seed(2))
    expect_like_torch(student, x, 2, stride=2, padding=1, ceil_mode=True)


def test_max_pool2d_gradient_goes_to_each_window_maximum(student):
    x = torch.randperm(20, generator=torch.Generator().manual_seed(4)).double().reshape(1, 1, 4, 5)
    g = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(1, 1, 2, 3)
    call = MAX_POOLING.show_call(x, 2, stride=2, ceil_mode=True)
    _, grads = MAX_POOLING.student_function(student).gradients(x, 2, stride=2, ceil_mode=True, grad_output=g)
    leaf = x.clone().requires_grad_()
    (expected,) = backpropagate(F.max_pool2d(leaf, 2, stride=2, ceil_mode=True), [leaf], g)
    expect_close(grads[0], expected, call + f", backpropagating {g.flatten().tolist()}", exact(),
                 what="the gradient with respect to x")


def test_max_pool2d_rejects_padding_more_than_half_the_kernel(student):
    MAX_POOLING.expect_padding_past_half_the_kernel_refused(student)


def test_max_pool2d_rejects_a_window_larger_than_the_padded_input(student):
    refused = [dict(kernel_size=4), dict(kernel_size=(2, 2), dilation=(3, 1)), dict(kernel_size=(2, 7))]
    MAX_POOLING.expect_refusals(student, torch.zeros(1, 1, 3, 6), "the output would be empty", refused)


@pytest.mark.points(2)
@pytest.mark.parametrize("name", sorted(SLIDE_WINDOWS))
def test_pool_variants_are_the_slide_layers(student, name):
    MAX_POOLING.expect_pool_variants_are_the_slide_layers(student, name)
