"""q1 written with F.unfold (im2col) and one matrix product; bad arguments fail inside PyTorch's own ops."""
import torch.nn.functional as F
from torch import nn


def _two(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    stride, padding, dilation = _two(stride), _two(padding), _two(dilation)
    kernel = tuple(weight.shape[2:])
    # columns: (N, C_in * kH * kW, number of kernel positions); F.unfold raises if the kernel does not fit
    columns = F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)
    rows = [(x.shape[2 + a] + 2 * padding[a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1 for a in (0, 1)]
    # the product raises when the channel counts differ (the row lengths do not match)
    out = weight.reshape(weight.shape[0], -1) @ columns
    out = out.reshape(x.shape[0], weight.shape[0], rows[0], rows[1])
    return out if bias is None else out + bias[:, None, None]


def conv_variants():
    layers = {}
    layers["square"] = nn.Conv2d(in_channels=16, out_channels=33, kernel_size=(3, 3), stride=(2, 2))
    layers["rect_padded"] = nn.Conv2d(in_channels=16, out_channels=33, kernel_size=(3, 5), stride=(2, 1),
                                      padding=(4, 2))
    layers["dilated"] = nn.Conv2d(in_channels=16, out_channels=33, kernel_size=(3, 5), stride=(2, 1),
                                  padding=(4, 2), dilation=(3, 1))
    return layers


def variant_output_shapes(input_shape):
    n, _, h, w = input_shape
    return {
        "square": (n, 33, (h - 3) // 2 + 1, (w - 3) // 2 + 1),
        "rect_padded": (n, 33, (h + 8 - 3) // 2 + 1, w + 4 - 5 + 1),
        "dilated": (n, 33, (h + 8 - 7) // 2 + 1, w + 4 - 5 + 1),
    }


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = _two(kernel_size)
    return out_channels * (in_channels * kh * kw + (1 if bias else 0))
