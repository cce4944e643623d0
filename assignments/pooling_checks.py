"""Checks shared by the pooling question tests (q3, q4); their messages are student feedback."""
import torch

from autograder.sandbox.errors import ForbiddenCall
from .checks import Tolerance, allowance, exact, expect_close

# torch functions (by the __name__ torch reports) that would do the pooling for the student
MAX_POOL_BANNED = ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
                   "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
AVG_POOL_BANNED = ("avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                   "adaptive_avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "interpolate",
                   "conv1d", "conv2d", "conv3d")
POOL_HYPER_PARAMETERS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "count_include_pad")


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
