"""Public tests of question 3 (max pooling): the slides' examples, small hand cases, errors and the two layers."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import backpropagate
from ..checks import exact, expect_close, expect_error
from ..pooling_checks import MAX_POOL_BANNED, expect_no_banned_pooling, expect_pool_layer, show_pool_call

SLIDE_GRID = torch.tensor([[[[1., 3, 2, 9], [7, 4, 1, 5], [8, 5, 2, 3], [4, 2, 1, 4]]]])
# the (2, 3, 4, 4) input the slides pool with nn.MaxPool2d(3, stride=2) and nn.MaxPool2d((3, 2), stride=(2, 1))
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
SLIDE_LAYERS = {"square": nn.MaxPool2d(3, stride=2), "rect": nn.MaxPool2d((3, 2), stride=(2, 1))}


def pooled(student, x, *args, **kwargs):
    """The student's max_pool2d(x, ...) (torch's pooling banned) and the call as feedback shows it."""
    return student.q3_max_pool.max_pool2d.forbidding(*MAX_POOL_BANNED)(x, *args, **kwargs), \
        show_pool_call("max_pool2d", x, *args, **kwargs)


def expect_like_torch(student, x, *args, **kwargs):
    got, call = pooled(student, x, *args, **kwargs)
    expect_close(got, F.max_pool2d(x, *args, **kwargs), call, exact())


def test_max_pool2d_slide_example_2x2_stride_2(student):
    got, call = pooled(student, SLIDE_GRID, 2, stride=2)
    expect_close(got, torch.tensor([[[[7., 9.], [8., 4.]]]]), call, exact())


def test_max_pool2d_does_not_use_torch_pooling(student):
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    expect_no_banned_pooling(student.q3_max_pool.max_pool2d, MAX_POOL_BANNED, x, 2)


def test_max_pool2d_stride_defaults_to_kernel_size(student):
    # the slides: nn.MaxPool2d(2) turns a (1, 3, 32, 32) image into (1, 3, 16, 16)
    generator = torch.Generator().manual_seed(0)
    expect_like_torch(student, torch.randn(1, 3, 32, 32, generator=generator), 2)
    expect_like_torch(student, torch.randn(2, 2, 7, 9, generator=generator), 3)
    expect_like_torch(student, torch.randn(1, 2, 6, 8, generator=generator), (3, 2), stride=None)


@pytest.mark.parametrize("name", sorted(SLIDE_LAYERS))
def test_max_pool2d_reproduces_the_slide_layers_on_the_slide_input(student, name):
    layer = SLIDE_LAYERS[name]
    expect_like_torch(student, SLIDE_INPUT, layer.kernel_size, stride=layer.stride)


def test_max_pool2d_pads_with_minus_infinity(student):
    # every value is negative: a zero in the padding must never win
    x = -1.0 - torch.arange(2 * 5 * 5, dtype=torch.float64).reshape(1, 2, 5, 5)
    got, call = pooled(student, x, 3, stride=2, padding=1)
    expect_close(got, F.max_pool2d(x, 3, stride=2, padding=1), call, exact())
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
    got, call = pooled(student, x, 2, stride=2, padding=1, ceil_mode=True)
    expect_close(got, F.max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True), call, exact())


def test_max_pool2d_gradient_goes_to_each_window_maximum(student):
    x = torch.randperm(20, generator=torch.Generator().manual_seed(4)).double().reshape(1, 1, 4, 5)
    g = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(1, 1, 2, 3)
    call = show_pool_call("max_pool2d", x, 2, stride=2, ceil_mode=True)
    _, grads = student.q3_max_pool.max_pool2d.forbidding(*MAX_POOL_BANNED).gradients(
        x, 2, stride=2, ceil_mode=True, grad_output=g)
    leaf = x.clone().requires_grad_()
    (expected,) = backpropagate(F.max_pool2d(leaf, 2, stride=2, ceil_mode=True), [leaf], g)
    expect_close(grads[0], expected, call + f", backpropagating {g.flatten().tolist()}", exact(),
                 what="the gradient with respect to x")


def test_max_pool2d_rejects_padding_more_than_half_the_kernel(student):
    x = torch.zeros(1, 1, 6, 6)
    for kwargs in (dict(kernel_size=2, padding=2), dict(kernel_size=(3, 4), padding=(2, 1))):
        expect_error(RuntimeError, "F.max_pool2d refuses padding > kernel_size // 2",
                     show_pool_call("max_pool2d", x, **kwargs), student.q3_max_pool.max_pool2d, x, **kwargs)


def test_max_pool2d_rejects_a_window_larger_than_the_padded_input(student):
    x = torch.zeros(1, 1, 3, 6)
    for kwargs in (dict(kernel_size=4), dict(kernel_size=(2, 2), dilation=(3, 1)), dict(kernel_size=(2, 7))):
        expect_error(RuntimeError, "the output would be empty",
                     show_pool_call("max_pool2d", x, **kwargs), student.q3_max_pool.max_pool2d, x, **kwargs)


@pytest.mark.points(2)
@pytest.mark.parametrize("name", sorted(SLIDE_LAYERS))
def test_pool_variants_are_the_slide_layers(student, name):
    variants = student.q3_max_pool.pool_variants()
    assert isinstance(variants, dict) and set(variants) == set(SLIDE_LAYERS), (
        f"pool_variants() should return a dict with keys {sorted(SLIDE_LAYERS)}, got {variants!r:.200}")
    inputs = [SLIDE_INPUT, torch.randn(20, 16, 50, 32, generator=torch.Generator().manual_seed(5))]
    expect_pool_layer(student, variants[name], SLIDE_LAYERS[name], name, inputs)
