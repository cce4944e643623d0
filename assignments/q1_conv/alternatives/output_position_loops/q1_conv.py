"""q1 written with Python loops over the output positions, zero padding built with torch.cat."""
import math

import torch
from torch import nn


def _hw(value):
    if isinstance(value, int):
        return value, value
    return value[0], value[1]


def _zero_pad(x, pad_h, pad_w):
    n, c, h, w = x.shape
    if pad_w:
        side = x.new_zeros(n, c, h, pad_w)
        x = torch.cat([side, x, side], dim=3)
    if pad_h:
        band = x.new_zeros(n, c, pad_h, x.shape[3])
        x = torch.cat([band, x, band], dim=2)
    return x


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw) = _hw(stride), _hw(padding), _hw(dilation)
    c_out, c_in, kh, kw = weight.shape
    if x.shape[1] != c_in:
        raise RuntimeError(f"expected input[{x.shape}] to have {c_in} channels, but got {x.shape[1]} channels")
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if x.shape[2] + 2 * ph < span_h or x.shape[3] + 2 * pw < span_w:
        raise RuntimeError("Kernel size can't be greater than actual input size")
    xp = _zero_pad(x, ph, pw)
    out_h = math.floor((xp.shape[2] - span_h) / sh) + 1
    out_w = math.floor((xp.shape[3] - span_w) / sw) + 1
    rows = []
    for i in range(out_h):
        row = []
        for j in range(out_w):
            patch = xp[:, :, i * sh:i * sh + span_h:dh, j * sw:j * sw + span_w:dw]   # (N, C_in, kH, kW)
            value = (patch.unsqueeze(1) * weight.unsqueeze(0)).sum(dim=(2, 3, 4))      # (N, C_out)
            if bias is not None:
                value = value + bias
            row.append(value)
        rows.append(torch.stack(row, dim=-1))
    return torch.stack(rows, dim=-2)


def conv_variants():
    common = dict(in_channels=16, out_channels=33)
    return {
        "dilated": nn.Conv2d(**common, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
        "rect_padded": nn.Conv2d(**common, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=1),
        "square": nn.Conv2d(**common, kernel_size=3, stride=2, padding=0),
    }


def _length(size, kernel, stride, padding, dilation):
    return math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def variant_output_shapes(input_shape):
    n, _, h, w = input_shape
    result = {}
    for name, (k, s, p, d) in {"square": ((3, 3), (2, 2), (0, 0), (1, 1)),
                               "rect_padded": ((3, 5), (2, 1), (4, 2), (1, 1)),
                               "dilated": ((3, 5), (2, 1), (4, 2), (3, 1))}.items():
        result[name] = (n, 33, _length(h, k[0], s[0], p[0], d[0]), _length(w, k[1], s[1], p[1], d[1]))
    return result


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = _hw(kernel_size)
    count = in_channels * kh * kw * out_channels
    if bias:
        count += out_channels
    return int(count)
