# Reference solution, generated from assignments/q1_conv/master.py by `autograder build`; do not edit.
"""Question 1: convolution from scratch, the three `nn.Conv2d` variants of the slides, parameter counts.

A convolution layer slides a small kernel over its input and, at every position, multiplies the
kernel with the patch under it and adds everything up. In this question you write that operation
yourself, then use PyTorch's own layer to see what stride, padding and dilation do to the output.

What a convolution layer computes
---------------------------------
For an input x of shape (N, C_in, H, W) and a weight of shape (C_out, C_in, kH, kW), output channel
`o` of image `n` is its bias plus, summed over every input channel `c`, the *cross-correlation* of
x[n, c] with weight[o, c]:

    out[n, o, i, j] = bias[o] + sum over c, u, v of
                      weight[o, c, u, v] * xpad[n, c, i * sH + u * dH, j * sW + v * dW]

where xpad is x with `padding` rows of zeros added at the top *and* the bottom, and `padding`
columns at the left *and* the right; sH, sW are the strides and dH, dW the dilations (a dilated
kernel has its taps dH rows and dW columns apart). The kernel is NOT flipped: PyTorch's "convolution"
is a cross-correlation. The output size along each axis is

    out = floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1

Worked example from the slides (one image, one channel, no bias, stride 1, no padding):

    x = [[12,  3, 19],       weight = [[1, 2],       output = [[133,  75],
         [25, 10,  1],                 [3, 4]]                 [100, 101]]
         [ 9,  7, 17]]

    133 = 1 * 12 + 2 * 3 + 3 * 25 + 4 * 10, and so on for the other three positions.

Parameter counts from the slides: `nn.Conv2d(1, 3, kernel_size=3)` has 1 * 3 * 3 * 3 = 27 weights
plus 3 biases, 30 parameters; `nn.Conv2d(3, 3, kernel_size=3)` has 3 * 3 * 3 * 3 + 3 = 84.

The three layers of the slides' Question 1 (16 input channels, 33 output channels):

    nn.Conv2d(16, 33, 3, stride=2)                                         # "square"
    nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))               # "rect_padded"
    nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))   # "dilated"

On an input of shape (20, 16, 50, 100) they give outputs of shapes (20, 33, 24, 49),
(20, 33, 28, 100) and (20, 33, 26, 100): pairs are always (height, width).

What to write
-------------
- `conv2d`: the layer's computation from scratch, for any stride, padding and dilation (an int, or a
  (height, width) pair). It must give the values of `torch.nn.functional.conv2d` and let gradients
  flow back to x, the weight and the bias, so use differentiable tensor operations (no `.item()`,
  `.numpy()` or `.detach()`). Inside `conv2d` you may NOT use `F.conv2d`, `torch.conv2d`,
  `nn.Conv2d` or any other convolution routine (`conv1d`, `conv3d`, `conv_transpose1d/2d/3d`,
  `torch.convolution`, `torch.nn.grad.*`). You may use `F.pad`, `Tensor.unfold` or `F.unfold`
  (im2col), `torch.einsum`, matrix products, slicing and Python loops.
  Like PyTorch, raise a `RuntimeError` when the input's channel count differs from the weight's
  C_in, and when the dilated kernel is larger than the padded input.
- `conv_variants`: the three `nn.Conv2d` layers above, built with torch.nn.
- `variant_output_shapes`: their output shapes for a given input shape, computed with the formula
  (running a convolution here fails the test).
- `conv_param_count`: the number of learnable parameters of an `nn.Conv2d`, as a Python int.

How it is graded
----------------
Public tests check the worked example, a few small cases against PyTorch, the gradients, the errors,
the three layers and the slide numbers. Hidden tests compare your functions with PyTorch on many
generated inputs: batch and channel counts, non-square kernels and inputs, strides, paddings and
dilations given as ints or pairs, with and without bias, in float32 and float64, values and gradients.
Results are compared with a float64 computation: a value that adds up n products (n = C_in * kH * kW
plus the bias for an output) may differ from it by 4 * (n + 2) * eps of your dtype times the sum of
their absolute values, which any correct order of summation meets. Results must keep x's dtype.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _pair(value):
    """An int or a (height, width) pair, as a pair of ints."""
    if isinstance(value, (tuple, list)):
        height, width = value
        return int(height), int(width)
    return int(value), int(value)


def _output_length(padded_size, kernel, stride, dilation):
    """Kernel positions along one axis of `padded_size` pixels (padding already included)."""
    covered = dilation * (kernel - 1) + 1
    if covered > padded_size:
        raise RuntimeError(f"the kernel covers {covered} pixels (kernel {kernel}, dilation {dilation}) "
                           f"but the padded input has only {padded_size}")
    return (padded_size - covered) // stride + 1


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2D cross-correlation of a batch of images, as `torch.nn.functional.conv2d` computes it.

    Args:
        x: input tensor of shape (N, C_in, H, W), float32 or float64.
        weight: kernels, shape (C_out, C_in, kH, kW), same dtype as x.
        bias: shape (C_out,) (one number added to each output channel), or None for no bias.
        stride: step between two kernel positions: an int (both axes) or a (height, width) pair.
        padding: zeros added on *each* side: an int or a (height, width) pair; padding=(1, 2) adds
            one row at the top and one at the bottom, two columns at the left and two at the right.
        dilation: spacing between kernel taps: an int or a (height, width) pair (1 = adjacent).

    Returns:
        Tensor of shape (N, C_out, H_out, W_out) with the dtype of x, where along each axis
        out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1.
        Autograd must be able to backpropagate from it to x, weight and bias.

    Raises:
        RuntimeError: if x has a different number of channels than the weight's C_in, or if the
            dilated kernel (dilation * (kernel - 1) + 1 pixels) is larger than the padded input
            along either axis.

    Do not call F.conv2d, torch.conv2d, nn.Conv2d or any other convolution function here.

    Examples:
        >>> x = torch.tensor([[[[12., 3., 19.], [25., 10., 1.], [9., 7., 17.]]]])   # (1, 1, 3, 3)
        >>> w = torch.tensor([[[[1., 2.], [3., 4.]]]])                               # (1, 1, 2, 2)
        >>> conv2d(x, w)
        tensor([[[[133.,  75.],
                  [100., 101.]]]])
        >>> conv2d(x, w, bias=torch.tensor([1.]), padding=1).shape                  # 3 + 2 - 2 + 1
        torch.Size([1, 1, 4, 4])
        >>> conv2d(torch.zeros(2, 3, 10, 9), torch.zeros(4, 3, 3, 3), stride=(2, 1), dilation=2).shape
        torch.Size([2, 4, 3, 5])
    """
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    out_channels, in_channels, kernel_h, kernel_w = weight.shape
    if x.shape[1] != in_channels:
        raise RuntimeError(f"the input has {x.shape[1]} channels but the weight {tuple(weight.shape)} "
                           f"expects {in_channels}")
    padded = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    out_h = _output_length(padded.shape[2], kernel_h, stride[0], dilation[0])
    out_w = _output_length(padded.shape[3], kernel_w, stride[1], dilation[1])
    out = x.new_zeros(x.shape[0], out_channels, out_h, out_w)
    # One kernel tap (u, v) at a time: it meets a strided grid of the padded input.
    for u in range(kernel_h):
        for v in range(kernel_w):
            top, left = u * dilation[0], v * dilation[1]
            window = padded[:, :, top:top + stride[0] * (out_h - 1) + 1:stride[0],
                            left:left + stride[1] * (out_w - 1) + 1:stride[1]]
            out = out + torch.einsum("nchw,oc->nohw", window, weight[:, :, u, v])
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def conv_variants():
    """The three convolution layers of the slides' Question 1, built with `torch.nn.Conv2d`.

    Returns:
        A dict with three `nn.Conv2d` layers, each from 16 input channels to 33 output channels:
        - "square": kernel 3x3, stride 2;
        - "rect_padded": kernel (3, 5), stride (2, 1), padding (4, 2);
        - "dilated": kernel (3, 5), stride (2, 1), padding (4, 2), dilation (3, 1).
        Everything else (bias, groups, padding_mode) keeps nn.Conv2d's default.

    Example:
        >>> layers = conv_variants()
        >>> layers["square"](torch.randn(20, 16, 50, 100)).shape
        torch.Size([20, 33, 24, 49])
    """
    return {
        "square": nn.Conv2d(16, 33, 3, stride=2),
        "rect_padded": nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2)),
        "dilated": nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
    }


def variant_output_shapes(input_shape):
    """Output shapes of the three `conv_variants` layers, computed WITHOUT running them.

    Use the output-size formula on each layer's kernel_size, stride, padding and dilation (you may
    read them from the layers `conv_variants()` returns, or write them down). Running a convolution
    during this call fails the test.

    Args:
        input_shape: (N, 16, H, W), a tuple of ints with H >= 3 and W >= 3.

    Returns:
        A dict with the keys of `conv_variants()`, each mapping to a tuple of four Python ints
        (N, 33, H_out, W_out).

    Example:
        >>> variant_output_shapes((20, 16, 50, 100))
        {'square': (20, 33, 24, 49), 'rect_padded': (20, 33, 28, 100), 'dilated': (20, 33, 26, 100)}
    """
    batch, _, height, width = input_shape
    shapes = {}
    for name, layer in conv_variants().items():
        out_h = _output_length(height + 2 * layer.padding[0], layer.kernel_size[0], layer.stride[0],
                               layer.dilation[0])
        out_w = _output_length(width + 2 * layer.padding[1], layer.kernel_size[1], layer.stride[1],
                               layer.dilation[1])
        shapes[name] = (int(batch), layer.out_channels, out_h, out_w)
    return shapes


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    """Number of learnable parameters of `nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)`.

    Args:
        in_channels: channels of the input (C_in).
        out_channels: channels of the output (C_out), one kernel of shape (C_in, kH, kW) each.
        kernel_size: an int (square kernel) or a (height, width) pair.
        bias: whether the layer has one bias per output channel.

    Returns:
        The count of weights plus biases, a Python int. Stride, padding and dilation do not change it.

    Examples:
        >>> conv_param_count(1, 3, 3)       # 1 * 3 * 3 * 3 weights + 3 biases
        30
        >>> conv_param_count(3, 3, 3)
        84
        >>> conv_param_count(16, 33, (3, 5), bias=False)
        7920
    """
    kernel_h, kernel_w = _pair(kernel_size)
    weights = in_channels * out_channels * kernel_h * kernel_w
    return weights + (out_channels if bias else 0)
