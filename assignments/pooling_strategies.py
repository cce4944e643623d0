"""Hypothesis strategies for the pooling questions (q3 max pooling, q4 average pooling)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from hypothesis import strategies as st

POOL_MAX_SIDE = 12       # largest input height / width drawn
POOL_MAX_KERNEL = 4      # largest window height / width drawn
POOL_VALUE_KINDS = ("normal", "integers", "distinct")


@dataclass(frozen=True)
class PoolCase:
    """One pooling call as plain data: how to build the input x, and the arguments after it.

    The input is made from `seed`, so Hypothesis shrinks it like any number and the falsifying
    example it prints is enough to rebuild the call. `values`:
    - "normal": standard normal numbers (float64 draws, then cast to `dtype`);
    - "integers": whole numbers from -9 to 9, so windows often hold ties and exact zeros;
    - "distinct": all values different (a shuffled 0.5-spaced ladder around 0). Max-pooling
      gradients are only compared on these: with a tie in a window PyTorch sends the gradient to
      one of the tied elements, and a correct implementation may pick another one or split it.
    `transposed` builds x as a transposed view (same shape, not contiguous), as after x.transpose(2, 3).
    """

    shape: tuple
    dtype: torch.dtype
    values: str
    seed: int
    transposed: bool
    kwargs: dict = field(default_factory=dict)

    def input(self) -> torch.Tensor:
        """The input tensor x of shape `shape` (N, C, H, W)."""
        n, c, h, w = self.shape
        stored = (n, c, w, h) if self.transposed else (n, c, h, w)
        generator = torch.Generator().manual_seed(self.seed)
        count = n * c * h * w
        if self.values == "normal":
            flat = torch.randn(count, generator=generator, dtype=torch.float64)
        elif self.values == "integers":
            flat = torch.randint(-9, 10, (count,), generator=generator).double()
        else:
            flat = (torch.randperm(count, generator=generator).double() - count // 2) * 0.5
        x = flat.to(self.dtype).reshape(stored)
        return x.transpose(2, 3) if self.transposed else x

    def grad_output(self, shape) -> torch.Tensor:
        """A gradient for an output of `shape`: nonzero whole numbers from -3 to 3, so that sums
        of them are exact in float32 and float64."""
        generator = torch.Generator().manual_seed(self.seed + 1)
        magnitude = torch.randint(1, 4, tuple(shape), generator=generator)
        sign = torch.randint(0, 2, tuple(shape), generator=generator) * 2 - 1
        return (magnitude * sign).to(self.dtype)


def _pool_axis(draw, dilated: bool, ceil_mode: bool) -> dict:
    """Window kernel, stride, padding, dilation and an input side for one axis that PyTorch accepts.

    kernel 1-4, padding 0..kernel // 2, stride 1-4, dilation 1-3 (1 unless `dilated`), and a side
    from the smallest one the dilated window fits in (after padding) up to POOL_MAX_SIDE. The side
    is also at least the dilation, so every window holds at least one input element (a dilated
    window could otherwise jump over a tiny input and see padding only). With ceil_mode the stride
    is 2-4 (with stride 1 rounding up changes nothing); with paddings this brings PyTorch's
    last-window rule into play.
    """
    kernel = draw(st.integers(1, POOL_MAX_KERNEL))
    padding = draw(st.integers(0, kernel // 2))
    dilation = draw(st.integers(1, 3)) if dilated else 1
    smallest = max(1, dilation * (kernel - 1) + 1 - 2 * padding, dilation)
    side = draw(st.integers(smallest, POOL_MAX_SIDE))
    stride = draw(st.integers(2 if ceil_mode else 1, 4))
    return dict(side=side, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)


def _refused_axis(draw, dilated: bool) -> dict:
    """One axis PyTorch refuses (with ceil_mode False): the padding is more than kernel // 2, or
    the (dilated) window is longer than the padded input, so the output would have no row/column."""
    kernel = draw(st.integers(2, POOL_MAX_KERNEL))
    dilation = draw(st.integers(1, 3)) if dilated else 1
    covered = dilation * (kernel - 1) + 1
    stride = draw(st.integers(1, 4))
    if draw(st.booleans()):
        padding = draw(st.integers(kernel // 2 + 1, kernel + 1))
        side = draw(st.integers(max(covered, dilation), POOL_MAX_SIDE))
    else:
        padding = draw(st.integers(0, min(kernel // 2, (covered - 2) // 2)))
        side = draw(st.integers(1, covered - 2 * padding - 1))
    return dict(side=side, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)


def _pool_case(draw, axes: tuple, keys: tuple, extra: dict, values: tuple, square: bool) -> PoolCase:
    """A PoolCase from two axes: int arguments when `square` (both axes equal), pairs otherwise.

    `keys` are the geometry arguments to pass; the stride is passed, passed as None, or left out
    (the last two mean: the kernel size).
    """
    kwargs = {}
    for key in keys:
        kwargs[key] = axes[0][key] if square else (axes[0][key], axes[1][key])
    stride_form = draw(st.sampled_from(["given", "given", "None", "left out"]))
    if stride_form != "given":
        kwargs["stride"] = None
        if stride_form == "left out":
            del kwargs["stride"]
    kwargs.update(extra)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), axes[0]["side"], axes[1]["side"])
    return PoolCase(shape=shape, dtype=draw(st.sampled_from([torch.float32, torch.float64])),
                    values=draw(st.sampled_from(values)), seed=draw(st.integers(0, 2**16)),
                    transposed=draw(st.sampled_from([False, False, True])), kwargs=kwargs)


def _two_axes(draw, axis, square: bool) -> tuple:
    """Two axes drawn by `axis()`; when square, one geometry with independently drawn sides."""
    first = axis()
    if not square:
        return first, axis()
    second = dict(first, side=draw(st.integers(first["side"], POOL_MAX_SIDE)))
    return (first, second) if draw(st.booleans()) else (second, first)


@st.composite
def max_pool_cases(draw, values: tuple = POOL_VALUE_KINDS, ceil_mode: bool | None = None) -> PoolCase:
    """Arguments F.max_pool2d accepts: kwargs kernel_size, stride, padding, dilation, ceil_mode.

    Batch 1-3, channels 1-4, sides 1-12, kernels 1-4 with paddings up to half the kernel,
    strides 1-4 (or the default), dilations 1-3; ints for square windows, (height, width) pairs
    otherwise; float32 or float64; contiguous or a transposed view. `values` limits the value
    kinds (see PoolCase); ceil_mode None draws it, True also draws strides of at least 2.
    """
    ceil = draw(st.booleans()) if ceil_mode is None else ceil_mode
    square = draw(st.booleans())
    axes = _two_axes(draw, lambda: _pool_axis(draw, dilated=True, ceil_mode=ceil), square)
    return _pool_case(draw, axes, ("kernel_size", "stride", "padding", "dilation"), {"ceil_mode": ceil},
                      values, square)


@st.composite
def avg_pool_cases(draw, ceil_mode: bool | None = None, count_include_pad: bool | None = None) -> PoolCase:
    """Arguments F.avg_pool2d accepts: kwargs kernel_size, stride, padding, ceil_mode, count_include_pad.

    The same geometry as max_pool_cases without dilation. ceil_mode and count_include_pad are
    drawn when None; ceil_mode True also draws strides of at least 2 (windows hanging over the
    bottom/right edge then need PyTorch's clipped divisor).
    """
    ceil = draw(st.booleans()) if ceil_mode is None else ceil_mode
    include = draw(st.booleans()) if count_include_pad is None else count_include_pad
    square = draw(st.booleans())
    axes = _two_axes(draw, lambda: _pool_axis(draw, dilated=False, ceil_mode=ceil), square)
    return _pool_case(draw, axes, ("kernel_size", "stride", "padding"),
                      {"ceil_mode": ceil, "count_include_pad": include}, POOL_VALUE_KINDS, square)


@st.composite
def refused_pool_cases(draw, dilated: bool = True) -> PoolCase:
    """Arguments F.max_pool2d (dilated) or F.avg_pool2d (dilated=False) refuse with a RuntimeError.

    One axis, or both, breaks a rule (see _refused_axis); the other one is valid. Always pairs,
    ceil_mode False, float32 normal values.
    """
    broken = draw(st.sampled_from(["height", "width", "both"]))
    valid = lambda: _pool_axis(draw, dilated=dilated, ceil_mode=False)  # noqa: E731
    refused = lambda: _refused_axis(draw, dilated)  # noqa: E731
    axes = (refused() if broken != "width" else valid(), refused() if broken != "height" else valid())
    kwargs = {key: (axes[0][key], axes[1][key]) for key in ("kernel_size", "stride", "padding", "dilation")}
    if not dilated:
        del kwargs["dilation"]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), axes[0]["side"], axes[1]["side"])
    return PoolCase(shape=shape, dtype=torch.float32, values="normal", seed=draw(st.integers(0, 2**16)),
                    transposed=False, kwargs=kwargs)


@st.composite
def variant_inputs(draw) -> torch.Tensor:
    """An input for the slides' pooling layers (3x3 and 3x2 windows): float32 (N, C, H, W) with N 1-2,
    C 1-3, H and W 3-12, standard normal values drawn from a seed."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(3, 12)), draw(st.integers(3, 12)))
    seed = draw(st.integers(0, 2 ** 16))
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))
