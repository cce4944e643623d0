"""A correct q8 written differently: count the window positions one by one, no formula."""
from torch import nn


def _starts(size, covered, stride, padding, ceil_mode=False):
    """Window start positions (in padded coordinates) that PyTorch keeps."""
    starts, start = [], 0
    while start + covered <= size + 2 * padding:
        starts.append(start)
        start += stride
    leftover = start - stride + covered < size + 2 * padding  # pixels after the last full window
    if ceil_mode and starts and leftover and start < size + padding:
        starts.append(start)  # a last, partial window that still starts inside input + left padding
    return starts


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be a number, 'same' or 'valid', not {padding!r}")
        if padding == "same":
            if stride != 1:
                raise ValueError("'same' padding needs stride 1")
            return size
        padding = 0
    count = len(_starts(size, dilation * (kernel_size - 1) + 1, stride, padding))
    if count == 0:
        raise ValueError("kernel does not fit")
    return count


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if padding > kernel_size // 2:
        raise ValueError("pad should be at most half of the kernel size")
    count = len(_starts(size, dilation * (kernel_size - 1) + 1, stride or kernel_size, padding, ceil_mode))
    if count == 0:
        raise ValueError("window does not fit")
    return count


def _two(value):
    return (value, value) if isinstance(value, (int, str)) else tuple(value)


def flatten_size(input_shape, layers):
    channels, *sides = input_shape
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            geometry = zip(sides, _two(layer.kernel_size), _two(layer.stride), _two(layer.padding),
                           _two(layer.dilation))
            sides = [conv_output_size(*axis) for axis in geometry]
            channels = layer.out_channels
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            geometry = zip(sides, _two(layer.kernel_size), _two(layer.stride), _two(layer.padding),
                           _two(getattr(layer, "dilation", 1)))
            sides = [pool_output_size(*axis, ceil_mode=layer.ceil_mode) for axis in geometry]
        elif type(layer).__module__ != "torch.nn.modules.activation" and not isinstance(
                layer, (nn.Identity, nn.Dropout, nn.Dropout2d, nn.BatchNorm2d)):
            raise TypeError(f"flatten_size does not know {type(layer).__name__}")
    return channels * sides[0] * sides[1]


def receptive_field(layers):
    field, step = 1, 1
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel, stride, dilation = (_two(v) for v in (layer.kernel_size, layer.stride,
                                                          getattr(layer, "dilation", 1)))
            if len({kernel[0], kernel[1]}) + len({stride[0], stride[1]}) + len({dilation[0], dilation[1]}) > 3:
                raise ValueError(f"non-square {type(layer).__name__}")
            field += (kernel[0] - 1) * dilation[0] * step
            step *= stride[0]
        elif type(layer).__module__ != "torch.nn.modules.activation" and not isinstance(layer, nn.Identity):
            raise TypeError(f"receptive_field does not know {type(layer).__name__}")
    return field
