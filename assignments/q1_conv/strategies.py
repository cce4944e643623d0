"""Hypothesis strategies for q1 (convolution): conv2d calls, input shapes and layer configurations."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

CONV_MAX_SIZE = 12       # largest input height / width of a generated conv2d call
CONV_DTYPES = (torch.float32, torch.float64)
VARIANT_CHANNELS = 16    # the slides' layers take 16 channels


@dataclass(frozen=True)
class ConvCase:
    """One conv2d call: tensor shapes, hyper-parameters as the student receives them, and how to fill the tensors.

    stride, padding and dilation are ints or (height, width) pairs, exactly as passed to conv2d.
    Values are drawn from `seed`: small integers in [-3, 3] (exact in floating point) or standard
    normal numbers. weight_channels, when set, is the weight's C_in (differing from in_channels).
    """
    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: tuple[int, int]
    stride: int | tuple[int, int]
    padding: int | tuple[int, int]
    dilation: int | tuple[int, int]
    bias: bool
    dtype: torch.dtype
    seed: int
    integers: bool
    weight_channels: int | None = None

    def hyper(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}

    def _fill(self, generator, shape):
        if self.integers:
            return torch.randint(-3, 4, shape, generator=generator).to(self.dtype)
        return torch.randn(shape, generator=generator, dtype=self.dtype)

    def tensors(self):
        """(x, weight, bias or None) of the call."""
        generator = torch.Generator().manual_seed(self.seed)
        x = self._fill(generator, (self.batch, self.in_channels, self.height, self.width))
        weight = self._fill(generator, (self.out_channels, self.weight_channels or self.in_channels, *self.kernel))
        bias = self._fill(generator, (self.out_channels,)) if self.bias else None
        return x, weight, bias

    def grad_output(self, shape):
        """A gradient of the given output shape to backpropagate (another draw from the same seed)."""
        generator = torch.Generator().manual_seed(self.seed + 1)
        return self._fill(generator, tuple(shape))


def _span(kernel: int, dilation: int) -> int:
    """Input pixels spanned by a kernel of `kernel` taps spaced `dilation` apart."""
    return dilation * (kernel - 1) + 1


def _as_given(draw, height: int, width: int):
    """A hyper-parameter as conv2d receives it: an int when height == width (if drawn so), else a pair."""
    if height == width and draw(st.booleans()):
        return height
    return (height, width)


def _axis_pair(draw, low: int, high: int) -> tuple[int, int]:
    """A (height, width) pair of ints in [low, high], equal about half the time (shrinks to (low, low))."""
    height = draw(st.integers(low, high))
    width = height if draw(st.booleans()) else draw(st.integers(low, high))
    return height, width


@st.composite
def conv_cases(draw, fits: bool = True, channels_match: bool = True) -> ConvCase:
    """A conv2d call F.conv2d accepts (fits=True) or refuses because the kernel does not fit.

    batch 1-3, channels 1-4 in and out, kernel 1-4 per axis, stride 1-3, padding 0-2, dilation
    1-3, each an int or a (height, width) pair; input height and width up to CONV_MAX_SIZE, from the
    smallest size the dilated kernel fits in (after padding). With fits=False, the height, the width
    or both are too small for a kernel of 2-4 taps instead. With channels_match=False, the weight's
    C_in differs from the input's channel count (1-4). float32 or float64, with or without bias.
    """
    kernel = _axis_pair(draw, 2 if not fits else 1, 4)
    dilation = _axis_pair(draw, 1, 3)
    padding = _axis_pair(draw, 0, 2)
    stride = _axis_pair(draw, 1, 3)
    short_axes = () if fits else draw(st.sampled_from([(0,), (1,), (0, 1)]))
    sizes = []
    for axis in (0, 1):
        covered = _span(kernel[axis], dilation[axis])
        if axis in short_axes:  # keep the padded input shorter than the dilated kernel
            pad = min(padding[axis], (covered - 2) // 2)
            padding = (pad, padding[1]) if axis == 0 else (padding[0], pad)
            sizes.append(draw(st.integers(1, covered - 2 * pad - 1)))
        else:
            sizes.append(draw(st.integers(max(1, covered - 2 * padding[axis]), CONV_MAX_SIZE)))
    in_channels = draw(st.integers(1, 4))
    weight_channels = None
    if not channels_match:
        weight_channels = draw(st.integers(1, 3))
        weight_channels += weight_channels >= in_channels  # 1-4 without in_channels
    return ConvCase(
        batch=draw(st.integers(1, 3)), in_channels=in_channels, out_channels=draw(st.integers(1, 4)),
        height=sizes[0], width=sizes[1], kernel=kernel,
        stride=_as_given(draw, *stride), padding=_as_given(draw, *padding), dilation=_as_given(draw, *dilation),
        bias=draw(st.booleans()), dtype=draw(st.sampled_from(CONV_DTYPES)),
        seed=draw(st.integers(0, 2**16)), integers=draw(st.booleans()), weight_channels=weight_channels)


@st.composite
def variant_input_shapes(draw, max_batch: int = 3, max_size: int = 64) -> tuple:
    """An input shape (N, 16, H, W) that all three slide layers accept: N 1-max_batch, H and W 3-max_size."""
    return (draw(st.integers(1, max_batch)), VARIANT_CHANNELS,
            draw(st.integers(3, max_size)), draw(st.integers(3, max_size)))


@st.composite
def conv_layer_configs(draw) -> dict:
    """Keyword arguments of conv_param_count (and nn.Conv2d): channels 1-64, kernel 1-7 (int or pair),
    bias True, False or left out (the default, True)."""
    kernel = _axis_pair(draw, 1, 7)
    config = dict(in_channels=draw(st.integers(1, 64)), out_channels=draw(st.integers(1, 64)),
                  kernel_size=_as_given(draw, *kernel))
    bias = draw(st.sampled_from([None, True, False]))
    if bias is not None:
        config["bias"] = bias
    return config
