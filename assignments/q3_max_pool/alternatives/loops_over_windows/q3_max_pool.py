"""q3, written differently: a Python loop over output pixels, each window clipped to the input (no padding tensor)."""
import math

import torch
from torch import nn


def _two(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _out_size(size, k, s, p, d, ceil_mode):
    exact = (size + 2 * p - d * (k - 1) - 1) / s
    out = (math.ceil(exact) if ceil_mode else math.floor(exact)) + 1
    while ceil_mode and out > 1 and (out - 1) * s - p >= size:  # a window may not start past the input
        out -= 1
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    kh, kw = _two(kernel_size)
    sh, sw = _two(kernel_size if stride is None else stride)
    ph, pw = _two(padding)
    dh, dw = _two(dilation)
    if 2 * ph > kh or 2 * pw > kw:
        raise RuntimeError("pad should be at most half of the kernel size")
    height, width = x.shape[2], x.shape[3]
    out_h = _out_size(height, kh, sh, ph, dh, ceil_mode)
    out_w = _out_size(width, kw, sw, pw, dw, ceil_mode)
    if out_h <= 0 or out_w <= 0:
        raise RuntimeError(f"Output size is too small: {out_h}x{out_w}")
    lines = []
    for oh in range(out_h):
        rows = [r for r in (oh * sh - ph + i * dh for i in range(kh)) if 0 <= r < height]
        values = []
        for ow in range(out_w):
            cols = [c for c in (ow * sw - pw + j * dw for j in range(kw)) if 0 <= c < width]
            window = x[:, :, rows][:, :, :, cols]
            values.append(window.flatten(2).max(dim=2).values)
        lines.append(torch.stack(values, dim=-1))
    return torch.stack(lines, dim=-2)


def pool_variants():
    return dict(rect=nn.MaxPool2d(kernel_size=(3, 2), stride=(2, 1)), square=nn.MaxPool2d((3, 3), (2, 2)))
