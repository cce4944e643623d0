"""Hypothesis strategies of q2 (ReLU, leaky ReLU): input tensors drawn as recipes, negative slopes."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

ACTIVATION_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
VALUE_SCALES = (1.0, 0.01, 50.0)   # randn times this: ordinary, tiny and large values (all finite in float16)


@dataclass(frozen=True)
class TensorRecipe:
    """A tensor given by plain values, so that Hypothesis can shrink and print it.

    `make()` draws standard normal values times `scale` from `seed` (in float64, then cast to
    `dtype`) and sets `zeros` entries to +0.0 and `negative_zeros` other entries to -0.0, at positions
    drawn from the same seed. The same recipe always gives the same tensor.
    """
    shape: tuple[int, ...]
    dtype: torch.dtype
    seed: int
    scale: float = 1.0
    zeros: int = 0
    negative_zeros: int = 0

    def make(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        values = torch.randn(self.shape, generator=generator, dtype=torch.float64) * self.scale
        flat = values.view(-1)
        positions = torch.randperm(flat.numel(), generator=generator)
        flat[positions[:self.zeros]] = 0.0
        flat[positions[self.zeros:self.zeros + self.negative_zeros]] = -0.0
        return values.to(self.dtype)

    def like(self, seed: int) -> "TensorRecipe":
        """A recipe for another tensor of the same shape and dtype (e.g. a grad_output), without zeros."""
        return TensorRecipe(self.shape, self.dtype, seed)


@st.composite
def activation_inputs(draw, dtypes: tuple = ACTIVATION_DTYPES, max_dims: int = 4) -> TensorRecipe:
    """A TensorRecipe for activation functions.

    0 to `max_dims` dimensions (0-d included, 1-d most often) of 1-5 entries each, a dtype from `dtypes`, values
    randn times 1, 0.01 or 50, and any number of exact zeros and negative zeros (always finite).
    """
    ndim = draw(st.sampled_from([n for n in (1, 2, 3, 4, 0) if n <= max_dims]))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    numel = 1
    for size in shape:
        numel *= size
    zeros = draw(st.integers(0, numel))
    negative_zeros = draw(st.integers(0, numel - zeros))
    return TensorRecipe(shape, draw(st.sampled_from(dtypes)), draw(st.integers(0, 2**32 - 1)),
                        draw(st.sampled_from(VALUE_SCALES)), zeros, negative_zeros)


def negative_slopes():
    """None (meaning: leave the argument out, use the default) or a float slope from 0 to 1.

    The slides' 0.1 and PyTorch's default 0.01 come up often, along with 0 (ReLU), 1 (identity) and
    any float in between.
    """
    return st.one_of(st.none(), st.sampled_from([0.01, 0.1, 0.0, 0.2, 0.5, 1.0]),
                     st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False))
