# Reference solution, generated from assignments/q8_output_size/master.py by `autograder build`; do not edit.
"""Question 8: how big is the output? Output sizes of convolution and pooling layers.

Before you can put a `nn.Linear` after a stack of convolutions you have to know how many features
come out of `nn.Flatten`. In this question you write that bookkeeping yourself, with plain
integer arithmetic: no tensors and no running of layers.

The rule (one spatial dimension; height and width are computed separately)
--------------------------------------------------------------------------
A kernel of `kernel_size` taps spaced `dilation` pixels apart covers
`dilation * (kernel_size - 1) + 1` input pixels. Sliding it with step `stride` over an input of
`size` pixels padded with `padding` zeros on *each* side gives

    out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

Numbers from the slides that your functions must reproduce:
- `nn.Conv2d(1, 8, 5)` on a 1x28x28 FashionMNIST image gives 8x24x24: 28 - 5 + 1 = 24.
- kernel 5 with padding 2 keeps 28 pixels (28 + 4 - 5 + 1 = 28); a 2x2 max pool then halves it to 14;
  the same conv and pool again give 14 and then 7.
- `padding="same"` keeps the size (28 stays 28); `padding="valid"` means no padding.
- `nn.MaxPool2d(5)` on 28 pixels gives 5: a pooling layer's stride defaults to its kernel size,
  so the windows do not overlap (floor(23 / 5) + 1 = 5). `nn.MaxPool2d(2)` on 28 gives 14.
- LeNet on a 3x32x32 CIFAR-10 image (conv 5x5 to 6 channels, 2x2 max pool, conv 5x5 to 16 channels,
  2x2 max pool) ends with 16 * 5 * 5 = 400 features; the same network on 1x28x28 FashionMNIST ends
  with 16 * 4 * 4 = 256.
- The birds-vs-airplanes `Net` (conv 3x3 padding 1 to 16 channels, tanh, 2x2 max pool, conv 3x3
  padding 1 to 8 channels, tanh, 2x2 max pool) on 3x32x32 ends with 8 * 8 * 8 = 512 features.
- One output pixel of conv 3x3, 2x2 max pool, conv 3x3 sees an 8x8 patch of the input: its
  receptive field is 8.

What to write
-------------
`conv_output_size`, `pool_output_size`, `flatten_size` and `receptive_field`, as their docstrings
below describe. Every function returns a plain Python `int` (not a float, not a numpy or torch number).

How it is graded
----------------
Public tests check the slide numbers above and the errors you must raise. Hidden tests compare your
functions with real PyTorch layers on many generated configurations: strides, paddings (numbers,
"same", "valid"), dilations, `ceil_mode`, non-square kernels and inputs, and stacks of layers.
"""
from torch import nn


# Layers that leave the shape of a (C, H, W) feature map unchanged.
_SHAPE_KEEPING = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.Identity,
                  nn.Dropout, nn.Dropout2d, nn.BatchNorm2d)


def _pair(value):
    """A module attribute that may be an int or a (height, width) pair, as a pair."""
    if isinstance(value, (tuple, list)):
        height, width = value
        return height, width
    return value, value


def _window_geometry(layer):
    """(kernel, stride, padding, dilation) pairs of a Conv2d, MaxPool2d or AvgPool2d."""
    padding = layer.padding
    if not isinstance(padding, str):
        padding = _pair(padding)
    else:
        padding = (padding, padding)
    return (_pair(layer.kernel_size), _pair(layer.stride), padding,
            _pair(getattr(layer, "dilation", 1)))


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one spatial dimension (as `nn.Conv2d` computes it).

    Args:
        size: input length in pixels (an int >= 1), e.g. the height of the image.
        kernel_size: number of kernel taps along this dimension.
        stride: step between two neighbouring kernel positions.
        padding: zeros added on *each* side (an int >= 0), or one of the strings
            "valid" (no padding, same as 0) and "same" (pad so that the output has `size` pixels;
            like PyTorch, this is only allowed with stride 1).
        dilation: spacing between kernel taps (1 = taps next to each other).

    Returns:
        The output length, a Python int >= 1:
        floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1.

    Raises:
        ValueError: if padding is "same" and stride is not 1, if padding is another string, or if
            the dilated kernel is longer than the padded input (the result would be < 1). The
            message is up to you.

    Examples:
        >>> conv_output_size(28, 5)                # nn.Conv2d(1, 8, 5) on 28x28 gives 24x24
        24
        >>> conv_output_size(28, 5, padding=2)
        28
        >>> conv_output_size(7, 3, stride=2, padding=1)
        4
        >>> conv_output_size(10, 3, dilation=2)    # the dilated kernel covers 5 pixels
        6
        >>> conv_output_size(28, 5, padding="same")
        28
        >>> conv_output_size(3, 5)                 # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: ...
    """
    if isinstance(padding, str):
        if padding == "same":
            if stride != 1:
                raise ValueError(f"padding='same' needs stride 1, got stride={stride}")
            return size
        if padding != "valid":
            raise ValueError(f"padding must be an int, 'same' or 'valid', got {padding!r}")
        padding = 0
    covered = dilation * (kernel_size - 1) + 1
    room = size + 2 * padding - covered
    if room < 0:
        raise ValueError(f"a kernel covering {covered} pixels does not fit in {size} pixels "
                         f"padded by {padding} on each side")
    return room // stride + 1


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output length of max or average pooling along one dimension (as `nn.MaxPool2d` computes it).

    Args:
        size: input length in pixels (an int >= 1).
        kernel_size: window length.
        stride: step between windows; None (the default) means `kernel_size`, as in `nn.MaxPool2d`.
        padding: pixels of implicit padding on each side; PyTorch allows at most kernel_size // 2.
        dilation: spacing between the window's taps (`nn.AvgPool2d` has none: leave it at 1).
        ceil_mode: round the division up instead of down, so that a last, partial window at the
            end is kept. PyTorch adds one rule: a window must start inside the input or the left
            padding, so when (out - 1) * stride >= size + padding the last window is dropped
            (out becomes out - 1).

    Returns:
        The output length, a Python int >= 1:
        floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1,
        with ceil instead of floor (and the rule above) when ceil_mode is True.

    Raises:
        ValueError: if padding > kernel_size // 2, or if the result would be < 1 (the window does
            not fit).

    Examples:
        >>> pool_output_size(28, 5)              # nn.MaxPool2d(5): stride 5
        5
        >>> pool_output_size(28, 2)
        14
        >>> pool_output_size(7, 2)               # the 7th pixel is left over
        3
        >>> pool_output_size(7, 2, ceil_mode=True)
        4
        >>> pool_output_size(10, 3, stride=1, dilation=2)   # the window covers 5 pixels
        6
        >>> # ceil gives 4 windows, but the 4th would start at 3 * 2 = 6 >= 5 + 1, in the padding:
        >>> pool_output_size(5, 2, stride=2, padding=1, ceil_mode=True)
        3
    """
    if stride is None:
        stride = kernel_size
    if padding > kernel_size // 2:
        raise ValueError(f"padding {padding} is more than half of kernel_size {kernel_size}")
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if ceil_mode:
        count = -(-room // stride) + 1
        if (count - 1) * stride >= size + padding:  # the last window would start in the padding
            count -= 1
    else:
        count = room // stride + 1
    if count < 1:
        raise ValueError(f"a window of {kernel_size} (dilation {dilation}) does not fit in {size} "
                         f"pixels padded by {padding}")
    return count


def flatten_size(input_shape, layers):
    """Number of features `nn.Flatten` gives after a stack of layers, without running the layers.

    Read each layer's hyper-parameters (its attributes) and apply `conv_output_size` and
    `pool_output_size` to the height and the width separately. Do not run the layers on a tensor:
    the grader fails the test if a convolution or pooling runs during the call.

    Args:
        input_shape: (channels, height, width) of one input image, e.g. (3, 32, 32).
        layers: a list of torch.nn modules, applied in order:
            - `nn.Conv2d`: attributes `out_channels`, and `kernel_size`, `stride`, `padding`,
              `dilation` as (height, width) pairs; `padding` can also be "same" or "valid".
            - `nn.MaxPool2d` / `nn.AvgPool2d`: `kernel_size`, `stride`, `padding`, `ceil_mode`
              (and `dilation` for max pooling). Each of these is an int or a (height, width) pair,
              exactly as the layer was created; `stride` already holds the kernel size when it was
              not given. Pooling keeps the number of channels.
            - layers that keep the shape: `nn.ReLU`, `nn.LeakyReLU`, `nn.ELU`, `nn.GELU`, `nn.Tanh`,
              `nn.Sigmoid`, `nn.Identity`, `nn.Dropout`, `nn.Dropout2d`, `nn.BatchNorm2d`.

    Returns:
        channels * height * width of the last feature map, a Python int.

    Raises:
        TypeError: for any other layer (e.g. `nn.Linear`, `nn.Flatten`), with a message naming the
            layer's class.
        ValueError: if a layer does not fit its input (as in the two functions above).

    Examples:
        >>> flatten_size((3, 32, 32), [nn.Conv2d(3, 6, 5), nn.MaxPool2d(2),
        ...                            nn.Conv2d(6, 16, 5), nn.MaxPool2d(2)])   # LeNet: 16 * 5 * 5
        400
        >>> flatten_size((1, 28, 28), [nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        ...                            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)])  # 16 * 4 * 4
        256
        >>> flatten_size((1, 10, 20), [nn.Conv2d(1, 4, (3, 5), stride=(1, 2))])   # 4 * 8 * 8
        256
    """
    channels, height, width = input_shape
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel, stride, padding, dilation = _window_geometry(layer)
            if isinstance(layer, nn.Conv2d):
                height = conv_output_size(height, kernel[0], stride[0], padding[0], dilation[0])
                width = conv_output_size(width, kernel[1], stride[1], padding[1], dilation[1])
                channels = layer.out_channels
            else:
                height = pool_output_size(height, kernel[0], stride[0], padding[0], dilation[0],
                                          layer.ceil_mode)
                width = pool_output_size(width, kernel[1], stride[1], padding[1], dilation[1],
                                         layer.ceil_mode)
        elif not isinstance(layer, _SHAPE_KEEPING):
            raise TypeError(f"flatten_size cannot handle a {type(layer).__name__} layer")
    return channels * height * width


def receptive_field(layers):
    """Side length, in input pixels, of the patch of the input that one output pixel depends on.

    Each layer with a window widens the field by (its dilated window - 1) steps of the *current
    jump*, the distance in input pixels between two neighbouring pixels of the layer's input; the
    jump starts at 1 and is multiplied by every stride on the way. Padding and ceil_mode do not
    change the field, and neither do shape-keeping layers (see `flatten_size`).

    Args:
        layers: a list of square `nn.Conv2d`, `nn.MaxPool2d`, `nn.AvgPool2d` and shape-keeping
            modules, applied in order. Attributes may be ints or (height, width) pairs with equal
            elements, e.g. `nn.Conv2d` stores kernel_size=3 as (3, 3).

    Returns:
        The receptive field size, a Python int >= 1 (1 for an empty list).

    Raises:
        ValueError: if a layer's kernel_size, stride or dilation differs between height and width.
        TypeError: for any other kind of layer, with a message naming its class.

    Examples:
        >>> # 1, + 2 for the first conv, + 1 for the pool (jump becomes 2), + 2 * 2 for the last conv:
        >>> receptive_field([nn.Conv2d(3, 16, 3), nn.MaxPool2d(2), nn.Conv2d(16, 8, 3)])
        8
        >>> receptive_field([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)])   # 1 + 2 + 2
        5
        >>> receptive_field([nn.Conv2d(1, 1, 3, dilation=2)])           # taps at 0, 2, 4
        5
    """
    field, jump = 1, 1
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel, stride, _, dilation = _window_geometry(layer)
            for name, pair in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
                if pair[0] != pair[1]:
                    raise ValueError(f"{type(layer).__name__} is not square: {name}={pair}")
            field += dilation[0] * (kernel[0] - 1) * jump
            jump *= stride[0]
        elif not isinstance(layer, _SHAPE_KEEPING):
            raise TypeError(f"receptive_field cannot handle a {type(layer).__name__} layer")
    return field
