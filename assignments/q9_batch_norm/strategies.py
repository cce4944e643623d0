"""Hypothesis strategies for q9 (batch normalisation): inputs drawn as small recipes of plain values."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

BATCH_NORM_DTYPES = (torch.float32, torch.float64)
SPREADS = (1.0, 0.01, 10.0)           # typical size of a channel's standard deviation
EPSILONS = (1e-5, 1e-3, 0.1)          # PyTorch's default first; larger ones make eps matter


@dataclass(frozen=True)
class BatchNormCase:
    """Arguments of `batch_norm` for one input shape, all drawn from `seed` in float64, then cast to `dtype`.

    Channel c of x is randn * spread_c + offset_c, where spread_c is `spread` times a factor from 1/3
    to 3 and offset_c lies within 3 spreads of 0, so channels differ in mean and spread. weight
    (if any) is randn, bias (if any) randn; running_mean lies within 2 spreads of the channel's
    offset and running_var is spread_c^2 times 0.25 to 4. grad_output is randn of x's shape.
    """
    shape: tuple[int, ...]
    dtype: torch.dtype
    seed: int
    spread: float = 1.0
    weight: bool = True
    bias: bool = True
    training: bool = True
    momentum: float = 0.1
    eps: float = 1e-5

    @property
    def channels(self) -> int:
        return self.shape[1]

    def tensors(self):
        """(x, running_mean, running_var, weight or None, bias or None)."""
        generator = torch.Generator().manual_seed(self.seed)

        def draw(*shape):
            return torch.randn(*shape, generator=generator, dtype=torch.float64)
        broadcast = [1, -1] + [1] * (len(self.shape) - 2)
        spreads = self.spread * 3.0 ** (2 * torch.rand(self.channels, generator=generator, dtype=torch.float64) - 1)
        offsets = spreads * 3 * (2 * torch.rand(self.channels, generator=generator, dtype=torch.float64) - 1)
        x = draw(*self.shape) * spreads.reshape(broadcast) + offsets.reshape(broadcast)
        running_mean = offsets + 2 * spreads * (2 * torch.rand(self.channels, generator=generator,
                                                               dtype=torch.float64) - 1)
        running_var = spreads ** 2 * 4.0 ** (2 * torch.rand(self.channels, generator=generator,
                                                            dtype=torch.float64) - 1)
        weight, bias = draw(self.channels), draw(self.channels)
        return tuple(t.to(self.dtype) if t is not None else None for t in
                     (x, running_mean, running_var, weight if self.weight else None, bias if self.bias else None))

    def grad_output(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed + 1)
        return torch.randn(*self.shape, generator=generator, dtype=torch.float64).to(self.dtype)


def momenta():
    """PyTorch's 0.1 most often, the ends 0 and 1, 0.5, and any float in between."""
    return st.one_of(st.sampled_from([0.1, 0.0, 1.0, 0.5]), st.floats(0.0, 1.0, allow_nan=False,
                                                                     allow_subnormal=False))


@st.composite
def shapes(draw, four_d_only: bool = False) -> tuple[int, ...]:
    """(N, C) with N 2-6, or (N, C, H, W) with N 1-3, H and W 1-4 and N * H * W >= 2; C is 1-5."""
    channels = draw(st.integers(1, 5))
    if not four_d_only and draw(st.booleans()):
        return (draw(st.integers(2, 6)), channels)
    batch, height = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    width = draw(st.integers(1 if batch * height >= 2 else 2, 4))
    return (batch, channels, height, width)


@st.composite
def batch_norm_cases(draw, training=None) -> BatchNormCase:
    """A BatchNormCase: a shape from `shapes`, float32 or float64, a spread of 1, 0.01 or 10, weight and bias
    each present or None, a momentum from `momenta`, eps 1e-5, 1e-3 or 0.1, and the mode `training`
    (drawn when None)."""
    return BatchNormCase(draw(shapes()), draw(st.sampled_from(BATCH_NORM_DTYPES)), draw(st.integers(0, 2**32 - 1)),
                         draw(st.sampled_from(SPREADS)), draw(st.booleans()), draw(st.booleans()),
                         draw(st.booleans()) if training is None else training, draw(momenta()),
                         draw(st.sampled_from(EPSILONS)))


@dataclass(frozen=True)
class LayerRun:
    """A `BatchNorm2d(channels, eps, momentum)` fed `len(training_batches)` training batches, then one in
    evaluation mode. Each batch is (N, seed): an (N, channels, height, width) float32 input drawn like a
    BatchNormCase's x, with the spread `spread`."""
    channels: int
    height: int
    width: int
    eps: float
    momentum: float
    spread: float
    training_batches: tuple[tuple[int, int], ...]
    eval_batch: tuple[int, int]

    def batch(self, batch: tuple[int, int]) -> BatchNormCase:
        return BatchNormCase((batch[0], self.channels, self.height, self.width), torch.float32, batch[1],
                             self.spread)


@st.composite
def layer_runs(draw) -> LayerRun:
    """A LayerRun: 1-4 channels, H and W 1-4, eps from EPSILONS, a momentum from `momenta`, 1-3 training
    batches of 1-3 images (at least 2 values per channel), then an evaluation batch of 1-3 images."""
    channels, height, width = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    smallest = 1 if height * width >= 2 else 2
    seeds = st.integers(0, 2**32 - 1)
    training = draw(st.lists(st.tuples(st.integers(smallest, 3), seeds), min_size=1, max_size=3))
    return LayerRun(channels, height, width, draw(st.sampled_from(EPSILONS)), draw(momenta()),
                    draw(st.sampled_from(SPREADS)), tuple(training), (draw(st.integers(1, 3)), draw(seeds)))


def channel_counts():
    """num_features: 1-64, and the slides' 32, 128 and 256."""
    return st.one_of(st.integers(1, 64), st.sampled_from([32, 128, 256]))
