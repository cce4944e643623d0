"""Hypothesis strategies of q5 (fully connected layers): linear arguments drawn as seeds and shapes."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

LINEAR_DTYPES = (torch.float32, torch.float64)


@dataclass(frozen=True)
class LinearCase:
    """Arguments of `linear`: x (*batch_shape, in_features), weight (out_features, in_features), bias.

    Values are drawn from `seed`: x ~ randn, weight ~ randn / sqrt(in_features), bias ~ randn
    (None when `bias` is False), and a grad_output ~ randn of the output's shape.
    """
    batch_shape: tuple[int, ...]
    in_features: int
    out_features: int
    bias: bool
    dtype: torch.dtype
    seed: int

    def tensors(self):
        """(x, weight, bias or None)."""
        generator = torch.Generator().manual_seed(self.seed)
        x = torch.randn(*self.batch_shape, self.in_features, generator=generator, dtype=torch.float64)
        weight = torch.randn(self.out_features, self.in_features, generator=generator,
                             dtype=torch.float64) / self.in_features ** 0.5
        bias = torch.randn(self.out_features, generator=generator, dtype=torch.float64) if self.bias else None
        return x.to(self.dtype), weight.to(self.dtype), None if bias is None else bias.to(self.dtype)

    def grad_output(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed + 1)
        return torch.randn(*self.batch_shape, self.out_features, generator=generator,
                           dtype=torch.float64).to(self.dtype)


def _batch_shapes():
    """Leading dimensions of a linear layer's input: 0-3 of them (one most often), 1-4 entries each."""
    ndim = st.sampled_from([1, 2, 0, 3])
    return ndim.flatmap(lambda n: st.lists(st.integers(1, 4), min_size=n, max_size=n).map(tuple))


def _features():
    """Feature counts: mostly 1-16, sometimes the slides' 20, 30, 84, 120 and 400."""
    return st.one_of(st.integers(1, 16), st.sampled_from([20, 30, 84, 120, 400]))


@st.composite
def linear_cases(draw, dtypes: tuple = LINEAR_DTYPES) -> LinearCase:
    """A LinearCase with 0-3 leading dimensions of 1-4 entries, feature counts from `_features`
    (in_features and out_features drawn independently, so mostly different), with or without bias,
    and a dtype from `dtypes`."""
    batch_shape = draw(_batch_shapes())
    return LinearCase(batch_shape, draw(_features()), draw(_features()), draw(st.booleans()),
                      draw(st.sampled_from(dtypes)), draw(st.integers(0, 2**32 - 1)))


@st.composite
def linear_layer_cases(draw) -> LinearCase:
    """A float32 LinearCase for the `Linear` module: in_features and out_features 1-64 or a slide size
    (20, 30, 84, 120, 400), with or without bias, 0-3 leading dimensions of 1-4 entries for its input."""
    sizes = st.one_of(st.integers(1, 64), st.sampled_from([20, 30, 84, 120, 400]))
    return LinearCase(draw(_batch_shapes()), draw(sizes), draw(sizes), draw(st.booleans()), torch.float32,
                      draw(st.integers(0, 2**32 - 1)))


def mlp_sizes():
    """`mlp_param_count` arguments: lists of 2-7 layer sizes, each 1-20000 (mostly small)."""
    size = st.one_of(st.integers(1, 300), st.integers(1, 20000))
    return st.lists(size, min_size=2, max_size=7)
