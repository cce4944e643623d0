"""Checks shared by the pooling question tests (q3, q4); their messages are student feedback."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.sandbox.errors import ForbiddenCall
from .checks import Tolerance, allowance, exact, expect_close, expect_error

# torch functions (by the __name__ torch reports) that would do the pooling for the student
MAX_POOL_BANNED = ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
                   "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
AVG_POOL_BANNED = ("avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                   "adaptive_avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "interpolate",
                   "conv1d", "conv2d", "conv3d")
POOL_HYPER_PARAMETERS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "count_include_pad")

# the (2, 3, 4, 4) input the slides pool with their two max-pooling layers, then with "average pooling 1 and 2"
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
# the slides' two windows, by pool_variants() key: (kernel_size, stride). A square 3x3 window moved by 2, and
# one of 3 rows by 2 columns moved 2 rows down but 1 column right; on SLIDE_INPUT they give (2, 3, 1, 1) and
# (2, 3, 1, 3)
SLIDE_WINDOWS = {"square": (3, 2), "rect": ((3, 2), (2, 1))}


def _pool_pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def show_pooled_tensor(tensor) -> str:
    """A tensor for feedback: dtype, shape, layout and a few of its values."""
    dtype = str(tensor.dtype).removeprefix("torch.")
    text = f"{dtype} tensor of shape {tuple(tensor.shape)}"
    if not tensor.is_contiguous():
        text += " (a transposed view: not contiguous)"
    values = tensor.detach().flatten().tolist()
    shown = ", ".join(f"{v:.4g}" for v in values[:8])
    return f"{text}, values [{shown}{', ...' if len(values) > 8 else ''}]"


def show_pool_call(function, x, *args, **kwargs) -> str:
    """How a pooling call looks in feedback, e.g. max_pool2d(x, 2, stride=1) with x a float32 tensor ..."""
    parts = ["x", *(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())]
    return f"{function}({', '.join(parts)}) with x a {show_pooled_tensor(x)}"


def pool_sum_tolerance(values: torch.Tensor, terms: int, dtype: torch.dtype) -> float:
    """Absolute error that any sound `dtype` computation of window sums divided by counts stays within:
    4 roundings per term, relative to the largest |value|. For average pooling use
    terms = kH * kW + (H + 2 * padH) + (W + 2 * padW): summing the taps of each window needs kH * kW
    terms, prefix sums over the padded input (an integral image) the rest (measured: at most 1/2.5
    of this bound on 1500 generated cases)."""
    return 4.0 * torch.finfo(dtype).eps * terms * max(1.0, values.detach().abs().max().item())


def avg_pool_tolerance(scale, x, kernel_size, stride=None, padding=0, **_other) -> Tolerance:
    """pool_sum_tolerance for avg_pool2d(x, kernel_size, stride, padding, ...) in x's dtype, as the allowance of
    every value; `scale` is the tensor whose values are summed (x for the output, the output's gradient for x's
    gradient)."""
    (kh, kw), (ph, pw) = _pool_pair(kernel_size), _pool_pair(padding)
    terms = kh * kw + x.shape[-2] + 2 * ph + x.shape[-1] + 2 * pw
    dtype = str(x.dtype).removeprefix("torch.")
    return allowance(pool_sum_tolerance(scale, terms, x.dtype), f"the rounding of window sums in {dtype}")


def expect_no_banned_pooling(function, banned, *args, **kwargs):
    """Call `function` forbidding `banned`; fail with a message naming what was used. Returns the result."""
    try:
        return function.forbidding(*banned)(*args, **kwargs)
    except ForbiddenCall as exc:
        raise AssertionError(f"{exc} Build the windows yourself (slicing, F.pad, unfold, ...) instead of "
                             "calling torch's pooling or convolution.") from None


def expect_pool_layer(student, got, expected, name, inputs):
    """`got` (a proxy of the student's layer) must be a layer like `expected` (built here by torch.nn):
    the same class, the same window (ints and equal pairs are the same), and the same outputs on `inputs`."""
    kind = type(expected)
    wanted_type = f"{kind.__module__}.{kind.__qualname__}"
    label = f"pool_variants()[{name!r}]"
    found = getattr(got, "remote_type", type(got).__name__)
    assert hasattr(got, "remote_type"), f"{label} should be an nn.{kind.__name__} module, got a {found}: {got!r:.80}"
    summary = student.harness.summary(got)
    assert wanted_type in summary["is"], f"{label} should be an nn.{kind.__name__}, got a {summary['type']} ({got!r})"
    for key in POOL_HYPER_PARAMETERS:
        if not hasattr(expected, key):
            continue
        wanted, have = getattr(expected, key), summary["hyper"].get(key)
        if isinstance(wanted, bool) or wanted is None:
            same = have == wanted
        else:
            same = have is not None and _pool_pair(have) == _pool_pair(wanted)
        assert same, f"{label} has {key}={have!r}; the slide's layer {expected!r} has {key}={wanted!r}"
    for x in inputs:
        with torch.no_grad():
            wanted = expected(x)
        expect_close(got(x), wanted, f"{label} on x a {show_pooled_tensor(x)}", exact())


# ---------------------------------------------------------------- a pooling question, as its tests call it

@dataclass(frozen=True)
class Pooling:
    """What the q3 and q4 tests share, for one of the two questions: MAX_POOLING or AVG_POOLING."""
    question: str         # the student's module, e.g. "q3_max_pool"
    function: str         # the function the student writes, e.g. "max_pool2d"
    banned: tuple         # the torch functions it may not call
    reference: Callable   # torch's own function, e.g. F.max_pool2d
    layer: type           # the class of pool_variants()' layers, e.g. nn.MaxPool2d
    in_float64: bool      # whether the reference runs on x in float64 (then the output is allowed its rounding)

    def student_function(self, student, banned: bool = True):
        """The student's function, with torch's pooling (and for q4 convolution) banned unless banned=False."""
        function = getattr(getattr(student, self.question), self.function)
        return function.forbidding(*self.banned) if banned else function

    def show_call(self, x, *args, **kwargs) -> str:
        return show_pool_call(self.function, x, *args, **kwargs)

    def tolerance(self, scale, x, *args, **kwargs) -> Tolerance:
        """How far the student's values may be from the reference's: exact for a maximum, the rounding of window
        sums for an average (see avg_pool_tolerance)."""
        return avg_pool_tolerance(scale, x, *args, **kwargs) if self.in_float64 else exact()

    def expect_like_torch(self, student, x, *args, **kwargs):
        """The student's function(x, *args, **kwargs) (torch's pooling banned) against the reference's."""
        got = self.student_function(student)(x, *args, **kwargs)
        expected = self.reference(x.double() if self.in_float64 else x, *args, **kwargs)
        expect_close(got, expected, self.show_call(x, *args, **kwargs), self.tolerance(x, x, *args, **kwargs),
                     dtype=x.dtype)

    def expect_case_like_torch(self, student, case):
        """expect_like_torch on a generated PoolCase."""
        self.expect_like_torch(student, case.input(), **case.kwargs)

    def expect_gradients_like_torch(self, student, case, about_x: str = ""):
        """The student's output and gradient with respect to x, backpropagating the case's grad_output (whole
        numbers from -3 to 3), against the reference's (in float64 for an average); `about_x` is said after the
        call."""
        x = case.input()
        leaf = (x.detach().double() if self.in_float64 else x.detach().clone()).requires_grad_()
        expected = self.reference(leaf, **case.kwargs)
        g = case.grad_output(expected.shape)
        expected.backward(g.to(leaf.dtype))
        call = self.show_call(x, **case.kwargs) + about_x
        got, grads = self.student_function(student).gradients(x, grad_output=g, **case.kwargs)
        expect_close(got, expected.detach(), call, self.tolerance(x, x, **case.kwargs), dtype=x.dtype)
        expect_close(grads[0], leaf.grad, call + ", backpropagating whole numbers from -3 to 3",
                     self.tolerance(g, x, **case.kwargs), dtype=x.dtype, what="the gradient with respect to x")

    def expect_slide_example(self, student, grid, expected):
        """The slides' example, a 2x2 window moved by 2 over `grid`, worked out by hand: `expected`, exactly."""
        got = self.student_function(student)(grid, 2, stride=2)
        expect_close(got, expected, self.show_call(grid, 2, stride=2), exact())

    def expect_no_banned_pooling(self, student):
        """The student's function on a (2, 3, 6, 6) input with a 2x2 window, calling none of the banned functions."""
        x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(3))
        expect_no_banned_pooling(self.student_function(student, banned=False), self.banned, x, 2)

    def expect_stride_defaulting_to_kernel_size(self, student):
        """Without a stride, or with stride=None, the windows move by the kernel size: nn.MaxPool2d(2) and
        nn.AvgPool2d(2) turn a (1, 3, 32, 32) image into (1, 3, 16, 16)."""
        generator = torch.Generator().manual_seed(0)
        self.expect_like_torch(student, torch.randn(1, 3, 32, 32, generator=generator), 2)
        self.expect_like_torch(student, torch.randn(2, 2, 7, 9, generator=generator), 3)
        self.expect_like_torch(student, torch.randn(1, 2, 6, 8, generator=generator), (3, 2), stride=None)

    def slide_layer(self, name: str) -> nn.Module:
        """The slides' layer `name` ("square" or "rect"), built here by torch.nn."""
        kernel_size, stride = SLIDE_WINDOWS[name]
        return self.layer(kernel_size, stride=stride)

    def expect_slide_layer_on_the_slide_input(self, student, name: str):
        """The student's function with the window of the slides' layer `name`, on SLIDE_INPUT."""
        kernel_size, stride = SLIDE_WINDOWS[name]
        self.expect_like_torch(student, SLIDE_INPUT, kernel_size, stride=stride)

    def expect_refusals(self, student, x, reason: str, refused):
        """function(x, **kwargs), for each kwargs in `refused`, must raise a RuntimeError (because of `reason`)."""
        for kwargs in refused:
            expect_error(RuntimeError, reason, self.show_call(x, **kwargs),
                         self.student_function(student, banned=False), x, **kwargs)

    def expect_padding_past_half_the_kernel_refused(self, student):
        """Padding more than kernel_size // 2 along an axis, as torch refuses it, on a (1, 1, 6, 6) input."""
        reason = f"F.{self.function} refuses padding > kernel_size // 2"
        refused = [dict(kernel_size=2, padding=2), dict(kernel_size=(3, 4), padding=(2, 1))]
        self.expect_refusals(student, torch.zeros(1, 1, 6, 6), reason, refused)

    def expect_refused_like_torch(self, student, case):
        """A generated PoolCase that torch refuses with a RuntimeError: the student's function must refuse it too."""
        x = case.input()
        with pytest.raises(RuntimeError) as refused:
            self.reference(x, **case.kwargs)
        expect_error(RuntimeError, f"F.{self.function} refuses it: {str(refused.value).splitlines()[0]}",
                     self.show_call(x, **case.kwargs), self.student_function(student, banned=False), x, **case.kwargs)

    def pool_variant(self, student, name: str, every_key: bool):
        """pool_variants()[name], once pool_variants() is a dict holding `name` (every_key: exactly the slides'
        two keys)."""
        variants = getattr(student, self.question).pool_variants()
        keys = sorted(SLIDE_WINDOWS)
        assert isinstance(variants, dict) and (set(variants) == set(keys) if every_key else name in variants), (
            f"pool_variants() should return a dict with keys {keys}, got {variants!r:.200}")
        return variants[name]

    def expect_pool_variants_are_the_slide_layers(self, student, name: str):
        """pool_variants() must hold the slides' two layers and nothing else; layer `name` must be the slides' (see
        expect_pool_layer) on SLIDE_INPUT and on a (20, 16, 50, 32) batch."""
        inputs = [SLIDE_INPUT, torch.randn(20, 16, 50, 32, generator=torch.Generator().manual_seed(5))]
        expect_pool_layer(student, self.pool_variant(student, name, every_key=True), self.slide_layer(name), name,
                          inputs)

    def expect_pool_variant_on(self, student, name: str, x):
        """pool_variants()' layer `name` must be the slides' (see expect_pool_layer), on x."""
        expect_pool_layer(student, self.pool_variant(student, name, every_key=False), self.slide_layer(name), name,
                          [x])


MAX_POOLING = Pooling("q3_max_pool", "max_pool2d", MAX_POOL_BANNED, F.max_pool2d, nn.MaxPool2d, in_float64=False)
AVG_POOLING = Pooling("q4_avg_pool", "avg_pool2d", AVG_POOL_BANNED, F.avg_pool2d, nn.AvgPool2d, in_float64=True)
