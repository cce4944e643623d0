"""q7's oracles, for the hidden tests only (student.zip leaves this file out: these are answers): the grader's
make_divisible and scale_config, on plain fields."""
import math


def reference_make_divisible(value, divisor: int = 8) -> int:
    """The grader's make_divisible: nearest multiple (halfway up), at least divisor, at most 10% below value."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def reference_scale(row, width: float, depth: float) -> tuple:
    """The grader's scale_config, on plain fields."""
    expand_ratio, kernel, stride, in_channels, out_channels, layers = row.fields()
    return (expand_ratio, kernel, stride, reference_make_divisible(in_channels * width),
            reference_make_divisible(out_channels * width), math.ceil(layers * depth))
