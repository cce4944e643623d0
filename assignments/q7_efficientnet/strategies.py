"""Hypothesis strategies for q7 (EfficientNet): channel counts, block rows, block tables and input batches."""
from __future__ import annotations

from dataclasses import astuple, dataclass

from hypothesis import strategies as st

# compound_scaling's table: name -> (width, depth, resolution, dropout)
SCALINGS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
            "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
            "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}
BASE_CHANNELS = (16, 24, 32, 40, 80, 112, 192, 320)  # the channel counts of B0's table
DIVISORS = (1, 2, 4, 8, 16)  # powers of two: value / divisor is exact, so every rounding formula agrees
EXPAND_RATIOS = (1, 2, 4, 6)
KERNELS = (3, 5)


@dataclass(frozen=True)
class Block:
    """An MBConvConfig as plain data: expand_ratio, kernel, stride, in_channels, out_channels, layers."""
    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    layers: int = 1

    def fields(self) -> tuple:
        return astuple(self)

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


@dataclass(frozen=True)
class Batch:
    """A batch of images (N, channels, height, width), filled from `seed` by the checks."""
    size: int
    channels: int
    height: int
    width: int
    seed: int

    @property
    def shape(self) -> tuple:
        return (self.size, self.channels, self.height, self.width)


def batches(channels: int, max_size: int = 2, sides=st.integers(3, 9)):
    """Batch of 1 to max_size images with `channels` channels and sides drawn from `sides`."""
    return st.builds(Batch, size=st.integers(1, max_size), channels=st.just(channels), height=sides, width=sides,
                     seed=st.integers(0, 2**16))


def divisible_values():
    """(value, divisor) for make_divisible; divisor None means 'use the default 8'.

    value: exact halfway points (k + 1/2) * divisor (where rounding must go up), B0 channel counts
    times a variant's width (what EfficientNet rounds), whole numbers 1-2000, or multiples of 1/64 from
    0.25 to 4096 (exact in binary, so value + divisor / 2 and value / divisor + 1/2 round alike).
    """
    def with_divisor(divisor):
        step = divisor or 8
        values = st.one_of(
            st.integers(0, 80).map(lambda k: (k + 0.5) * step),
            st.tuples(st.sampled_from(BASE_CHANNELS), st.sampled_from([s[0] for s in SCALINGS.values()]))
            .map(lambda pair: pair[0] * pair[1]),
            st.integers(1, 2000),
            st.integers(16, 4096 * 64).map(lambda sixty_fourths: sixty_fourths / 64))
        return st.tuples(values, st.just(divisor))
    return st.sampled_from((None,) + DIVISORS).flatmap(with_divisor)


def scalings():
    """(width, depth) of a variant, or other multiples of 0.05 (width 1-2.5) and 0.1 (depth 1-4)."""
    table = st.sampled_from([(w, d) for w, d, _, _ in SCALINGS.values()])
    other = st.tuples(st.integers(0, 30).map(lambda k: round(1 + 0.05 * k, 2)),
                      st.integers(0, 30).map(lambda k: round(1 + 0.1 * k, 1)))
    return st.one_of(table, other)


def table_rows():
    """A block-table row to scale: any channel counts 1-640, 1-4 layers, B0's kinds of block."""
    return st.builds(Block, expand_ratio=st.sampled_from(EXPAND_RATIOS), kernel=st.sampled_from(KERNELS),
                     stride=st.sampled_from([1, 2]), in_channels=st.integers(1, 640),
                     out_channels=st.integers(1, 640), layers=st.integers(1, 4))


@st.composite
def blocks(draw) -> Block:
    """One MBConv block: channels multiples of 8 from 8 to 32 (torchvision rounds other counts), out
    equal to in about half the time, stride 1 or 2, so every residual case occurs."""
    in_channels = 8 * draw(st.integers(1, 4))
    out_channels = in_channels if draw(st.booleans()) else 8 * draw(st.integers(1, 4))
    return Block(draw(st.sampled_from(EXPAND_RATIOS)), draw(st.sampled_from(KERNELS)), draw(st.sampled_from([1, 2])),
                 in_channels, out_channels)


@st.composite
def block_tables(draw, max_stages: int = 3) -> list[Block]:
    """A small table of 1 to max_stages stages chained by their channels (multiples of 8, 8-32),
    1-3 layers each: an EfficientNet small enough to build and run in milliseconds."""
    channels = 8 * draw(st.integers(1, 3))
    table = []
    for _ in range(draw(st.integers(1, max_stages))):
        out_channels = 8 * draw(st.integers(1, 4))
        table.append(Block(draw(st.sampled_from(EXPAND_RATIOS)), draw(st.sampled_from(KERNELS)),
                           draw(st.sampled_from([1, 2])), channels, out_channels, draw(st.integers(1, 3))))
        channels = out_channels
    return table


@st.composite
def block_cases(draw) -> tuple[Block, Batch]:
    """A block (see `blocks`) and a batch of 1-2 images it accepts (its in_channels, sides 3-9)."""
    block = draw(blocks())
    return block, draw(batches(block.in_channels))
