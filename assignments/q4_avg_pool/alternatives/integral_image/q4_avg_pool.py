"""q4, written differently: window sums from an integral image (2-D prefix sums), divisors counted in Python."""
import torch
import torch.nn.functional as F
from torch import nn


def _two(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _axis(size, k, s, p, ceil_mode, include):
    """Window starts (in padded coordinates) and divisor counts along one axis."""
    if p * 2 > k:
        raise RuntimeError("pad should be smaller than or equal to half of kernel size")
    top = size + 2 * p - k
    out = (top + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out < 1:
        raise RuntimeError("Output size is too small")
    starts, counts = [], []
    for o in range(out):
        lo, hi = o * s - p, min(o * s - p + k, size + p)
        if not include:
            lo, hi = max(lo, 0), min(hi, size)
        starts.append(o * s)
        counts.append(hi - lo)
    return starts, counts


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    kh, kw = _two(kernel_size)
    sh, sw = _two(kernel_size if stride is None else stride)
    ph, pw = _two(padding)
    height, width = x.shape[-2], x.shape[-1]
    rows, row_counts = _axis(height, kh, sh, ph, ceil_mode, count_include_pad)
    cols, col_counts = _axis(width, kw, sw, pw, ceil_mode, count_include_pad)
    bottom = max(ph, rows[-1] + kh - height - ph)
    right = max(pw, cols[-1] + kw - width - pw)
    padded = F.pad(x, (pw + 1, right, ph + 1, bottom))  # the extra leading zero row/column starts the prefix sums
    integral = padded.cumsum(dim=2).cumsum(dim=3)
    r0 = torch.tensor(rows, device=x.device)
    c0 = torch.tensor(cols, device=x.device)
    r1, c1 = r0 + kh, c0 + kw
    sums = (integral[:, :, r1][:, :, :, c1] - integral[:, :, r0][:, :, :, c1]
            - integral[:, :, r1][:, :, :, c0] + integral[:, :, r0][:, :, :, c0])
    divisor = torch.tensor(row_counts, dtype=x.dtype, device=x.device)[:, None] * \
        torch.tensor(col_counts, dtype=x.dtype, device=x.device)[None, :]
    return sums / divisor


def pool_variants():
    return {"rect": nn.AvgPool2d(kernel_size=(3, 2), stride=(2, 1)), "square": nn.AvgPool2d((3, 3), (2, 2))}
