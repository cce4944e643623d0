"""Hypothesis strategies for the question tests: small, valid by construction, plain data the worker accepts."""
from __future__ import annotations

from hypothesis import strategies as st

MAX_SIZE = 64          # largest spatial size drawn
ACTIVATIONS = ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Identity")


def _covered(kernel: int, dilation: int) -> int:
    """Input pixels spanned by a kernel of `kernel` taps spaced `dilation` apart."""
    return dilation * (kernel - 1) + 1


# ---------------------------------------------------------------- one dimension (q8)

@st.composite
def conv_dims(draw, max_size: int = MAX_SIZE) -> dict:
    """Keyword arguments of `conv_output_size` with an int padding whose output is >= 1.

    kernel 1-7, stride 1-4, padding 0-3, dilation 1-3, and a size from the smallest one the
    dilated kernel fits in (after padding) up to `max_size`.
    """
    kernel = draw(st.integers(1, 7))
    dilation = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 3))
    stride = draw(st.integers(1, 4))
    smallest = max(1, _covered(kernel, dilation) - 2 * padding)
    size = draw(st.integers(smallest, max(smallest, max_size)))
    return dict(size=size, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)


@st.composite
def conv_dims_named_padding(draw) -> dict:
    """`conv_output_size` arguments with padding "same" (then stride 1) or "valid" (any stride).

    With "same" the kernel may be longer than the input: PyTorch pads as much as needed.
    """
    if draw(st.booleans()):
        return dict(size=draw(st.integers(1, MAX_SIZE)), kernel_size=draw(st.integers(1, 7)),
                    stride=1, padding="same", dilation=draw(st.integers(1, 3)))
    dims = draw(conv_dims())
    dims["padding"] = "valid"
    dims["size"] = max(dims["size"], _covered(dims["kernel_size"], dims["dilation"]))
    return dims


@st.composite
def conv_dims_not_fitting(draw) -> dict:
    """`conv_output_size` arguments whose dilated kernel is longer than the padded input."""
    kernel = draw(st.integers(2, 7))
    dilation = draw(st.integers(1, 3))
    covered = _covered(kernel, dilation)
    padding = draw(st.integers(0, (covered - 2) // 2))
    size = draw(st.integers(1, covered - 2 * padding - 1))
    return dict(size=size, kernel_size=kernel, stride=draw(st.integers(1, 4)), padding=padding,
                dilation=dilation)


@st.composite
def conv_dims_same_strided(draw) -> dict:
    """`conv_output_size` arguments with padding "same" and a stride of 2-4 (PyTorch refuses them)."""
    return dict(size=draw(st.integers(1, MAX_SIZE)), kernel_size=draw(st.integers(1, 7)),
                stride=draw(st.integers(2, 4)), padding="same", dilation=draw(st.integers(1, 3)))


@st.composite
def pool_dims(draw, dilation: bool = True) -> dict:
    """`pool_output_size` arguments that `nn.MaxPool2d` (or, with dilation=False, `nn.AvgPool2d`) accepts.

    kernel 1-6, padding at most kernel // 2, dilation 1-3 (key left out when dilation=False),
    stride None (the default: kernel size) or 1-5, ceil_mode True or False, and a size from the
    smallest one the window fits in (after padding) up to MAX_SIZE. Strides larger than the window
    and paddings make ceil_mode's last-window rule come into play.
    """
    kernel = draw(st.integers(1, 6))
    dil = draw(st.integers(1, 3)) if dilation else 1
    padding = draw(st.integers(0, kernel // 2))
    smallest = max(1, _covered(kernel, dil) - 2 * padding)
    dims = dict(size=draw(st.integers(smallest, MAX_SIZE)), kernel_size=kernel,
                stride=draw(st.one_of(st.none(), st.integers(1, 5))), padding=padding)
    if dilation:
        dims["dilation"] = dil
    dims["ceil_mode"] = draw(st.booleans())
    return dims


@st.composite
def pool_dims_invalid(draw) -> dict:
    """`pool_output_size` arguments PyTorch refuses (ceil_mode False).

    Either the padding is more than kernel_size // 2, or the (dilated) window is longer than the
    padded input.
    """
    kernel = draw(st.integers(2, 6))
    dilation = draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.integers(1, 5)))
    if draw(st.booleans()):
        padding = draw(st.integers(kernel // 2 + 1, kernel + 2))
        size = draw(st.integers(_covered(kernel, dilation), MAX_SIZE))
    else:
        covered = _covered(kernel, dilation)
        padding = draw(st.integers(0, min(kernel // 2, (covered - 2) // 2)))
        size = draw(st.integers(1, covered - 2 * padding - 1))
    return dict(size=size, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=False)


# ---------------------------------------------------------------- stacks of layers (q8)

def _axis(draw, size: int, kind: str, max_kernel: int = 5) -> dict:
    """Kernel, stride, padding, dilation for one axis of `size` pixels that the layer fits.

    kind is "conv", "max" or "avg"; pools keep padding <= kernel // 2 and avg pools dilation 1.
    stride None means "leave it out" (pools then use their kernel size).
    """
    dilation = 1 if kind == "avg" else draw(st.integers(1, 2))
    if kind == "conv":
        padding = draw(st.integers(0, 2))
        largest = min(max_kernel, (size + 2 * padding - 1) // dilation + 1)
        kernel = draw(st.integers(1, largest))
        stride = draw(st.integers(1, 3))
    else:
        # the window must fit without padding for some kernel; padding <= kernel // 2 then keeps it valid
        largest = max(1, min(max_kernel, (size - 1) // dilation + 1))
        kernel = draw(st.integers(1, largest))
        padding = draw(st.integers(0, kernel // 2))
        stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)


def _conv_out(size: int, axis: dict) -> int:
    covered = _covered(axis["kernel_size"], axis["dilation"])
    return (size + 2 * axis["padding"] - covered) // axis["stride"] + 1


def _pool_out(size: int, axis: dict, ceil_mode: bool) -> int:
    stride = axis["stride"] or axis["kernel_size"]
    room = size + 2 * axis["padding"] - _covered(axis["kernel_size"], axis["dilation"])
    if not ceil_mode:
        return room // stride + 1
    count = -(-room // stride) + 1
    return count - 1 if (count - 1) * stride >= size + axis["padding"] else count


def _merge(height: dict, width: dict, square: bool) -> dict:
    """Layer kwargs from two axes: ints when square, (height, width) pairs otherwise."""
    kwargs = {}
    for key in ("kernel_size", "stride", "padding", "dilation"):
        if square:
            kwargs[key] = height[key]
        elif height[key] is None or width[key] is None:
            kwargs[key] = None
        else:
            kwargs[key] = (height[key], width[key])
    return {k: v for k, v in kwargs.items() if v is not None}


def _window_layer(draw, kind: str, channels: int, height: int, width: int, force_pairs: bool):
    """One Conv2d / MaxPool2d / AvgPool2d spec valid on a (channels, height, width) input.

    Returns (spec, (channels, height, width) after the layer).
    """
    square = not force_pairs and draw(st.booleans())
    if square:
        axis_h = axis_w = _axis(draw, min(height, width), kind)
    else:
        axis_h, axis_w = _axis(draw, height, kind), _axis(draw, width, kind)
        if axis_h["stride"] is None or axis_w["stride"] is None:  # default stride: both or neither
            axis_h = dict(axis_h, stride=None)
            axis_w = dict(axis_w, stride=None)
    kwargs = _merge(axis_h, axis_w, square)
    if kind == "conv":
        out_channels = draw(st.integers(1, 8))
        kwargs = dict(in_channels=channels, out_channels=out_channels, **kwargs)
        named = draw(st.sampled_from([None, None, "same", "valid"]))
        if named == "same":
            kwargs.update(padding="same", stride=1)
            return ("Conv2d", kwargs), (out_channels, height, width)
        if named == "valid" and all(_covered(a["kernel_size"], a["dilation"]) <= size
                                    for a, size in ((axis_h, height), (axis_w, width))):
            kwargs["padding"] = "valid"
            axis_h, axis_w = dict(axis_h, padding=0), dict(axis_w, padding=0)
        return ("Conv2d", kwargs), (out_channels, _conv_out(height, axis_h), _conv_out(width, axis_w))
    ceil_mode = draw(st.booleans())
    if ceil_mode:
        kwargs["ceil_mode"] = True
    if kind == "avg":
        kwargs.pop("dilation", None)
    name = "MaxPool2d" if kind == "max" else "AvgPool2d"
    return (name, kwargs), (channels, _pool_out(height, axis_h, ceil_mode),
                            _pool_out(width, axis_w, ceil_mode))


def _activation(draw):
    name = draw(st.sampled_from(ACTIVATIONS))
    kwargs = {"negative_slope": 0.1} if name == "LeakyReLU" and draw(st.booleans()) else {}
    return (name, kwargs)


@st.composite
def layer_stacks(draw, non_square: bool = False, max_layers: int = 6):
    """An input shape (C, H, W) and a list of layer specs that is valid for it at every step.

    C is 1-4 and H, W are 1-48 (8-48 with non_square). Layers: Conv2d (in_channels matching,
    out_channels 1-8, kernel 1-5, stride 1-3, padding 0-2, "same" with stride 1 or "valid",
    dilation 1-2), MaxPool2d (kernel 1-5, padding <= kernel // 2, stride left out or 1-3,
    dilation 1-2, ceil_mode), AvgPool2d (the same without dilation) and activations. Parameters are
    ints or (height, width) pairs. With non_square, H != W, every window layer uses pairs and the
    first layer is a Conv2d whose kernel height and width differ.
    Returns (input_shape, specs), specs being a list of (nn class name, kwargs).
    """
    channels = draw(st.integers(1, 4))
    if non_square:
        height, width = draw(st.integers(8, 48)), draw(st.integers(8, 47))
        width += width >= height  # 8-48 without height
    else:
        height, width = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    input_shape = (channels, height, width)
    specs = []
    if non_square:
        kernel_h, kernel_w = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        kernel_w += kernel_w >= kernel_h  # 1-4 without kernel_h
        out_channels = draw(st.integers(1, 8))
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        specs.append(("Conv2d", dict(in_channels=channels, out_channels=out_channels,
                                     kernel_size=(kernel_h, kernel_w), stride=stride)))
        channels = out_channels
        height = (height - kernel_h) // stride[0] + 1
        width = (width - kernel_w) // stride[1] + 1
    for _ in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg", "activation"]))
        if kind == "activation":
            specs.append(_activation(draw))
            continue
        spec, (channels, height, width) = _window_layer(draw, kind, channels, height, width,
                                                        force_pairs=non_square)
        specs.append(spec)
    return input_shape, specs


@st.composite
def square_stacks(draw, max_layers: int = 4) -> list:
    """A list of 1-`max_layers` square layer specs for receptive_field (no input shape needed).

    Conv2d (kernel 1-5, stride 1-3, padding 0-2 or "same" with stride 1, dilation 1-3), MaxPool2d
    (kernel 1-5, stride left out or 1-3, padding <= kernel // 2, dilation 1-3, ceil_mode),
    AvgPool2d (no dilation) and activations; each parameter an int or an (n, n) pair. The receptive
    field is at most 1 + 12 * (1 + 3 + 9 + 27) = 481 pixels.
    """
    specs = []
    for _ in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg", "activation"]))
        if kind == "activation":
            specs.append(_activation(draw))
            continue
        kwargs = {}
        if kind == "conv":
            channels = draw(st.integers(1, 3))
            kwargs.update(in_channels=channels, out_channels=channels)
        kernel = kwargs["kernel_size"] = draw(st.integers(1, 5))
        if kind == "conv":
            kwargs["padding"] = draw(st.one_of(st.integers(0, 2), st.just("same")))
            kwargs["stride"] = 1 if kwargs["padding"] == "same" else draw(st.integers(1, 3))
        else:
            stride = draw(st.one_of(st.none(), st.integers(1, 3)))
            if stride is not None:
                kwargs["stride"] = stride
            kwargs["padding"] = draw(st.integers(0, kernel // 2))
            kwargs["ceil_mode"] = draw(st.booleans())
        if kind != "avg":
            kwargs["dilation"] = draw(st.integers(1, 3))
        for key in ("kernel_size", "stride", "dilation"):
            if key in kwargs and draw(st.booleans()):
                kwargs[key] = (kwargs[key], kwargs[key])
        name = {"conv": "Conv2d", "max": "MaxPool2d", "avg": "AvgPool2d"}[kind]
        specs.append((name, kwargs))
    return specs
