"""q4, written differently: F.unfold cuts the windows; unfolding a 0/1 mask the same way counts the divisor."""
import math

import torch
import torch.nn.functional as F
from torch import nn


def _pair(v):
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _length(size, k, s, p, ceil_mode):
    exact = (size + 2 * p - k) / s
    n = (math.ceil(exact) if ceil_mode else math.floor(exact)) + 1
    if ceil_mode and (n - 1) * s - p >= size:
        n -= 1
    return n


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    if any(p[a] > k[a] // 2 for a in range(2)):
        raise RuntimeError(f"pad should be at most half of kernel size: padding={p}, kernel_size={k}")
    n, c, h, w = x.shape
    out = [_length(h, k[0], s[0], p[0], ceil_mode), _length(w, k[1], s[1], p[1], ceil_mode)]
    if min(out) < 1:
        raise RuntimeError(f"Output size is too small: {out}")
    extra = [max(0, (out[0] - 1) * s[0] + k[0] - h - 2 * p[0]), max(0, (out[1] - 1) * s[1] + k[1] - w - 2 * p[1])]
    # which positions the divisor counts: the input (and its padding, with count_include_pad)
    mask = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
    mask = F.pad(mask, (p[1], p[1], p[0], p[0]), value=1.0 if count_include_pad else 0.0)
    mask = F.pad(mask, (0, extra[1], 0, extra[0]))
    padded = F.pad(x, (p[1], p[1] + extra[1], p[0], p[0] + extra[0]))
    columns = F.unfold(padded.reshape(n * c, 1, *padded.shape[-2:]), k, stride=s)  # (N*C, kH*kW, L)
    counts = F.unfold(mask, k, stride=s).sum(dim=1)                               # (1, L)
    means = columns.sum(dim=1) / counts
    return means.reshape(n, c, out[0], out[1])


def pool_variants():
    layers = {}
    layers["square"] = nn.AvgPool2d(kernel_size=3, stride=2, padding=0)
    layers["rect"] = nn.AvgPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(0, 0))
    return layers
