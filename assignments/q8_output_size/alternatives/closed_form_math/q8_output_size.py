"""A correct q8 written differently: math.floor/math.ceil on true division, a table of layer kinds."""
import math

from torch import nn

KEEP_SHAPE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Dropout,
              nn.Dropout2d, nn.BatchNorm2d)


def as_pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    if padding == "same":
        if stride != 1:
            raise ValueError("padding='same' is only allowed with stride 1")
        return size
    if padding == "valid":
        padding = 0
    elif isinstance(padding, str):
        raise ValueError(f"unknown padding {padding!r}")
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if span < 0:
        raise ValueError("the kernel is larger than the padded input")
    return int(math.floor(span / stride)) + 1


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    if 2 * padding > kernel_size:
        raise ValueError("padding should be at most half of the kernel size")
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    rounding = math.ceil if ceil_mode else math.floor
    out = int(rounding(span / stride)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise ValueError("the window does not fit in the padded input")
    return out


def flatten_size(input_shape, layers):
    channels, height, width = input_shape
    for layer in layers:
        if isinstance(layer, KEEP_SHAPE):
            continue
        if isinstance(layer, nn.Conv2d):
            pads = layer.padding if isinstance(layer.padding, str) else as_pair(layer.padding)
            pads = (pads, pads) if isinstance(pads, str) else pads
            sizes = [conv_output_size(s, k, st, p, d) for s, k, st, p, d in
                     zip((height, width), as_pair(layer.kernel_size), as_pair(layer.stride), pads,
                         as_pair(layer.dilation))]
            channels = layer.out_channels
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            dilation = as_pair(getattr(layer, "dilation", 1))
            sizes = [pool_output_size(s, k, st, p, d, layer.ceil_mode) for s, k, st, p, d in
                     zip((height, width), as_pair(layer.kernel_size), as_pair(layer.stride),
                         as_pair(layer.padding), dilation)]
        else:
            raise TypeError(f"unsupported layer: {type(layer).__name__}")
        height, width = sizes
    return channels * height * width


def receptive_field(layers):
    field, jump = 1, 1
    for layer in layers:
        if isinstance(layer, KEEP_SHAPE):
            continue
        if not isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            raise TypeError(f"unsupported layer: {type(layer).__name__}")
        kernel, stride = as_pair(layer.kernel_size), as_pair(layer.stride)
        dilation = as_pair(getattr(layer, "dilation", 1))
        if kernel[0] != kernel[1] or stride[0] != stride[1] or dilation[0] != dilation[1]:
            raise ValueError(f"{type(layer).__name__} is not square")
        field += (kernel[0] - 1) * dilation[0] * jump
        jump *= stride[0]
    return field
