"""Public tests of question 4 (average pooling): the slides' examples, divisors at the edges, errors and the two layers."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import backpropagate, exact, expect_close, expect_error
from ..pooling_checks import (AVG_POOL_BANNED, avg_pool_tolerance, expect_no_banned_pooling, expect_pool_layer,
                            show_pool_call)

SLIDE_GRID = torch.tensor([[[[31., 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]]]])
# the (2, 3, 4, 4) input of the slides' "average pooling 1 and 2"
SLIDE_INPUT = torch.tensor([
    [[[1.8795, -0.9712, -0.9392, -0.4232], [0.8934, -0.1838, -0.6962, 0.7811],
      [-0.7759, 0.6899, 1.2669, -0.4593], [-0.3234, 0.1564, 0.3186, -0.6218]],
     [[0.1849, -0.8552, -0.4428, -0.0164], [0.9378, -0.0277, 0.7987, -0.5503],
      [1.1780, 0.5824, 0.1628, -0.2823], [-0.8981, -1.6407, -0.1553, -0.4629]],
     [[0.4457, 0.3343, 0.2223, 0.0144], [-0.6155, 0.8187, -0.9193, 0.7510],
      [1.1858, -1.3562, -2.2173, 0.3620], [-0.8036, -1.3456, -1.8544, 1.3941]]],
    [[[-0.0728, -1.2540, 0.9493, 0.2052], [0.4544, -0.1516, -0.8139, -2.2012],
      [0.2120, 0.1947, 1.2858, -1.4137], [1.6568, -1.3123, 0.6329, 0.1649]],
     [[-0.0990, -0.9462, -0.0781, 0.2328], [-0.7766, 0.2643, -0.9084, -0.1353],
      [0.9885, -0.0519, -2.2123, -0.9353], [-0.7118, 0.1378, -0.8299, -0.5661]],
     [[-0.2325, 1.4443, -1.2123, 1.0013], [-1.0646, -0.5381, 0.4471, -0.7720],
      [0.1712, -0.4545, -0.7615, -0.4085], [-0.3185, -1.9137, -1.5205, 0.1778]]]])
SLIDE_LAYERS = {"square": nn.AvgPool2d(3, stride=2), "rect": nn.AvgPool2d((3, 2), stride=(2, 1))}


def expect_like_torch(student, x, kernel_size, **kwargs):
    """The student's avg_pool2d (torch's pooling banned) against F.avg_pool2d computed in float64."""
    call = show_pool_call("avg_pool2d", x, kernel_size, **kwargs)
    got = student.q4_avg_pool.avg_pool2d.forbidding(*AVG_POOL_BANNED)(x, kernel_size, **kwargs)
    expected = F.avg_pool2d(x.double(), kernel_size, **kwargs)
    expect_close(got, expected, call, avg_pool_tolerance(x, x, kernel_size, **kwargs), dtype=x.dtype)


def test_avg_pool2d_slide_example_2x2_stride_2(student):
    call = show_pool_call("avg_pool2d", SLIDE_GRID, 2, stride=2)
    got = student.q4_avg_pool.avg_pool2d.forbidding(*AVG_POOL_BANNED)(SLIDE_GRID, 2, stride=2)
    expect_close(got, torch.tensor([[[[36.5, 80.0], [12.0, 15.0]]]]), call, exact())


def test_avg_pool2d_does_not_use_torch_pooling_or_convolution(student):
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    expect_no_banned_pooling(student.q4_avg_pool.avg_pool2d, AVG_POOL_BANNED, x, 2)


def test_avg_pool2d_stride_defaults_to_kernel_size(student):
    generator = torch.Generator().manual_seed(0)
    expect_like_torch(student, torch.randn(1, 3, 32, 32, generator=generator), 2)
    expect_like_torch(student, torch.randn(2, 2, 7, 9, generator=generator), 3)
    expect_like_torch(student, torch.randn(1, 2, 6, 8, generator=generator), (3, 2), stride=None)


@pytest.mark.parametrize("name", sorted(SLIDE_LAYERS))
def test_avg_pool2d_reproduces_average_pooling_1_and_2_on_the_slide_input(student, name):
    layer = SLIDE_LAYERS[name]
    expect_like_torch(student, SLIDE_INPUT, layer.kernel_size, stride=layer.stride)


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
    call = show_pool_call("avg_pool2d", x, 3, **kwargs) + f", backpropagating 1, 2, ..., {expected.numel()}"
    _, grads = student.q4_avg_pool.avg_pool2d.forbidding(*AVG_POOL_BANNED).gradients(x, 3, grad_output=g, **kwargs)
    expect_close(grads[0], expected_grad, call, avg_pool_tolerance(g, x, 3, **kwargs),
                 what="the gradient with respect to x")


def test_avg_pool2d_rejects_padding_more_than_half_the_kernel(student):
    x = torch.zeros(1, 1, 6, 6)
    for kwargs in (dict(kernel_size=2, padding=2), dict(kernel_size=(3, 4), padding=(2, 1))):
        expect_error(RuntimeError, "F.avg_pool2d refuses padding > kernel_size // 2",
                     show_pool_call("avg_pool2d", x, **kwargs), student.q4_avg_pool.avg_pool2d, x, **kwargs)


def test_avg_pool2d_rejects_a_window_larger_than_the_padded_input(student):
    x = torch.zeros(1, 1, 3, 6)
    for kwargs in (dict(kernel_size=4), dict(kernel_size=(2, 7)), dict(kernel_size=(4, 2), padding=(0, 1))):
        expect_error(RuntimeError, "the output would be empty",
                     show_pool_call("avg_pool2d", x, **kwargs), student.q4_avg_pool.avg_pool2d, x, **kwargs)


@pytest.mark.points(2)
@pytest.mark.parametrize("name", sorted(SLIDE_LAYERS))
def test_pool_variants_are_average_pooling_1_and_2(student, name):
    variants = student.q4_avg_pool.pool_variants()
    assert isinstance(variants, dict) and set(variants) == set(SLIDE_LAYERS), (
        f"pool_variants() should return a dict with keys {sorted(SLIDE_LAYERS)}, got {variants!r:.200}")
    inputs = [SLIDE_INPUT, torch.randn(20, 16, 50, 32, generator=torch.Generator().manual_seed(5))]
    expect_pool_layer(student, variants[name], SLIDE_LAYERS[name], name, inputs)
