"""Public tests of question 4 (average pooling): the slides' examples, divisors at the edges, errors and the two layers."""
import pytest
import torch
import torch.nn.functional as F

from ..checks import backpropagate, expect_close
from ..pooling_checks import AVG_POOLING, SLIDE_WINDOWS, avg_pool_tolerance

SLIDE_GRID = torch.tensor([[[[31., 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]]]])
# (student, x, kernel_size, **kwargs): F.avg_pool2d's values computed in float64, within the rounding of x's dtype
expect_like_torch = AVG_POOLING.expect_like_torch


def test_avg_pool2d_slide_example_2x2_stride_2(student):
    AVG_POOLING.expect_slide_example(student, SLIDE_GRID, torch.tensor([[[[36.5, 80.0], [12.0, 15.0]]]]))


def test_avg_pool2d_does_not_use_torch_pooling_or_convolution(student):
    AVG_POOLING.expect_no_banned_pooling(student)


def test_avg_pool2d_stride_defaults_to_kernel_size(student):
    AVG_POOLING.expect_stride_defaulting_to_kernel_size(student)


@pytest.mark.parametrize("name", sorted(SLIDE_WINDOWS))
def test_avg_pool2d_reproduces_average_pooling_1_and_2_on_the_slide_input(student, name):
    AVG_POOLING.expect_slide_layer_on_the_slide_input(student, name)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_padding_counts_as_the_statement_says(student, count_include_pad):
    # corner of the slide grid with padding 1: (0 + 0 + 0 + 31) / 4 = 7.75, or 31 / 1 without the padding
    expect_like_torch(student, SLIDE_GRID, 2, padding=1, count_include_pad=count_include_pad)
    x = torch.randn(2, 3, 5, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expect_like_torch(student, x, (3, 2), stride=1, padding=(1, 1), count_include_pad=count_include_pad)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_ceil_mode_divides_windows_over_the_edge_by_what_they_hold(student, count_include_pad):
    # the slide grid, 3x3 windows, stride 2: the bottom-right window holds 2 x 2 values, (7 + 2 + 45 + 6) / 4 = 15
    expect_like_torch(student, SLIDE_GRID, 3, stride=2, ceil_mode=True, count_include_pad=count_include_pad)
    # with padding 1 it covers rows/columns 3-5: 2 x 2 of them in the padded input, 1 x 1 in the input
    expect_like_torch(student, SLIDE_GRID, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=count_include_pad)


def test_avg_pool2d_ceil_mode_drops_a_window_starting_in_the_padding(student):
    # 5 pixels, kernel 2, stride 2, padding 1: rounding up gives 4 windows, but the 4th would start past the input
    x = torch.randn(1, 1, 5, 5, generator=torch.Generator().manual_seed(2))
    expect_like_torch(student, x, 2, stride=2, padding=1, ceil_mode=True)


def test_avg_pool2d_gradient_spreads_evenly_over_each_window(student):
    x = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    kwargs = dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    leaf = x.clone().requires_grad_()
    expected = F.avg_pool2d(leaf, 3, **kwargs)
    g = torch.arange(1.0, expected.numel() + 1, dtype=torch.float64).reshape(expected.shape)
    (expected_grad,) = backpropagate(expected, [leaf], g)
    call = AVG_POOLING.show_call(x, 3, **kwargs) + f", backpropagating 1, 2, ..., {expected.numel()}"
    _, grads = AVG_POOLING.student_function(student).gradients(x, 3, grad_output=g, **kwargs)
    expect_close(grads[0], expected_grad, call, avg_pool_tolerance(g, x, 3, **kwargs),
                 what="the gradient with respect to x")


def test_avg_pool2d_rejects_padding_more_than_half_the_kernel(student):
    AVG_POOLING.expect_padding_past_half_the_kernel_refused(student)


def test_avg_pool2d_rejects_a_window_larger_than_the_padded_input(student):
    refused = [dict(kernel_size=4), dict(kernel_size=(2, 7)), dict(kernel_size=(4, 2), padding=(0, 1))]
    AVG_POOLING.expect_refusals(student, torch.zeros(1, 1, 3, 6), "the output would be empty", refused)


@pytest.mark.points(2)
@pytest.mark.parametrize("name", sorted(SLIDE_WINDOWS))
def test_pool_variants_are_average_pooling_1_and_2(student, name):
    AVG_POOLING.expect_pool_variants_are_the_slide_layers(student, name)
