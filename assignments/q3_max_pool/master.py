"""Question 3: max pooling from scratch, and the two max-pooling layers of the slides.

A pooling layer shrinks a feature map so that the layers after it see a wider part of the image
with fewer numbers to carry. Max pooling slides a window over each channel of each image and
keeps the largest value under it. The slides' example, a 2x2 window moved by 2 pixels:

    [[1, 3, 2, 9],
     [7, 4, 1, 5],        max of each 2x2 block         [[7, 9],
     [8, 5, 2, 3],        ------------------------>      [8, 4]]
     [4, 2, 1, 4]]

How `nn.MaxPool2d` / `F.max_pool2d` work (one image, one channel; rows and columns alike)
------------------------------------------------------------------------------------------
- The window has kH x kW taps. For output pixel (h, w), tap (i, j) reads input row
  h * stride[0] - padding[0] + i * dilation[0] and column w * stride[1] - padding[1] + j * dilation[1].
  Every image and channel is pooled on its own: an (N, C, H, W) input gives (N, C, H_out, W_out).
- `stride` defaults to the kernel size, so the windows touch without overlapping:
  `nn.MaxPool2d(2)` halves a (1, 3, 32, 32) image to (1, 3, 16, 16).
- `padding` adds that many rows/columns on each side, filled with minus infinity, so a padded
  position never wins the maximum. PyTorch allows at most kernel_size // 2 of padding.
- `dilation` spaces the taps: with dilation 2, a 3-tap window reads positions 0, 2 and 4.
- Output size along one axis (the floor formula of question 8):
      out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1
- `ceil_mode=True` rounds up instead, keeping a last window that hangs over the bottom/right
  edge (the part outside the padded input is ignored), with PyTorch's rule: a window must start
  inside the input or the left/top padding, so if (out - 1) * stride >= size + padding the last
  window is dropped again. Example: 5 pixels, kernel 2, stride 2, padding 1 gives 3, not 4.
- Every argument that describes the window (kernel_size, stride, padding, dilation) is an int
  (the same for height and width) or a (height, width) pair.

The slides build two layers and ask why their outputs differ on a (2, 3, 4, 4) input:
`nn.MaxPool2d(3, stride=2)` (a square 3x3 window, stride 2, output (2, 3, 1, 1)) and
`nn.MaxPool2d((3, 2), stride=(2, 1))` (3 rows by 2 columns, moving 2 rows down but only 1 column
right, output (2, 3, 1, 3)).

What to write
-------------
- `max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`: the same
  result as `F.max_pool2d`, written with basic tensor operations (indexing and slicing,
  `torch.maximum`, `amax`, `F.pad`, `Tensor.unfold` or `F.unfold` are all fine). You may NOT use
  torch's max pooling: `F.max_pool1d/2d/3d`, `nn.MaxPool1d/2d/3d`, `F.adaptive_max_pool1d/2d/3d`
  (or `torch.max_pool2d` and friends). A call that uses one of them fails the test.
  Use torch operations on `x` all the way (no `.item()`, numpy or Python lists of numbers), so
  that autograd can send gradients back through your function.
- `pool_variants()`: the two layers of the slides, as real `nn.MaxPool2d` modules.

How it is graded
----------------
Public tests check the slide examples, the default stride, the -inf padding, dilation,
ceil_mode, a gradient, the errors to raise and the two layers. Hidden tests compare your output
and its gradients with `F.max_pool2d` on many generated inputs: float32 and float64, 1-3 images,
1-4 channels, kernels up to 4 (square or not), strides, paddings, dilations, ceil_mode, and
inputs that are transposed views (not contiguous). Values must be exactly equal (a maximum is
one of the inputs); gradients are compared on inputs whose values are all different.
"""
import torch
import torch.nn.functional as F
from torch import nn
# BEGIN SOLUTION


def _pair(value):
    """An int or a (height, width) pair, as a pair of ints."""
    if isinstance(value, (tuple, list)):
        height, width = value
        return int(height), int(width)
    return int(value), int(value)


def _window_count(side, kernel, stride, padding, dilation, ceil_mode):
    """How many windows PyTorch fits along an axis of `side` input elements."""
    room = side + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        count = -(-room // stride) + 1
        if (count - 1) * stride >= side + padding:  # the last window would start in the right padding
            count -= 1
    else:
        count = room // stride + 1
    return count
# END SOLUTION


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling of a batch of images, like `F.max_pool2d`, without torch's pooling functions.

    Args:
        x: input tensor of shape (N, C, H, W), float32 or float64 (possibly not contiguous).
        kernel_size: window size, an int k (a k x k window) or a pair (kH, kW).
        stride: step between windows, an int or a pair; None (the default) means kernel_size.
        padding: rows/columns of minus infinity added on each side, an int or a pair; each must be
            at most half of the kernel size along its axis (kernel_size // 2).
        dilation: spacing between the window's taps, an int or a pair (1 = taps next to each other).
        ceil_mode: if True, round the output size up (see the question statement for PyTorch's
            last-window rule) instead of down.

    Returns:
        The maxima, a tensor of x's dtype and shape (N, C, H_out, W_out): out[n, c, h, w] is the
        largest of the kH x kW taps of x[n, c] that window (h, w) reads, tap (i, j) at row
        h * stride[0] - padding[0] + i * dilation[0] and column w * stride[1] - padding[1] + j * dilation[1]
        (a tap in the padding reads minus infinity, so it never wins). A dilated window spans
        dilation[0] * (kH - 1) + 1 rows, hence
        H_out = floor((H + 2 * padding[0] - dilation[0] * (kH - 1) - 1) / stride[0]) + 1,
        rounded up instead in ceil_mode, and W_out likewise with kW and the second entries.
        Gradients must flow back from the result to x (autograd).

    Raises:
        RuntimeError: as F.max_pool2d does, if padding[0] > kH // 2 or padding[1] > kW // 2, or if
            H_out < 1 or W_out < 1 (no dilated window fits in the padded input).

    Examples:
        >>> x = torch.tensor([[[[1., 3, 2, 9], [7, 4, 1, 5], [8, 5, 2, 3], [4, 2, 1, 4]]]])
        >>> max_pool2d(x, 2)
        tensor([[[[7., 9.],
                  [8., 4.]]]])
        >>> max_pool2d(x, 3, stride=1)
        tensor([[[[8., 9.],
                  [8., 5.]]]])
        >>> max_pool2d(x, (1, 4))                          # one window per row
        tensor([[[[9.],
                  [7.],
                  [8.],
                  [4.]]]])
        >>> max_pool2d(-x, 2, stride=2, padding=1)          # padding never wins, even over -9
        tensor([[[[-1., -2., -9.],
                  [-7., -1., -3.],
                  [-4., -1., -4.]]]])
        >>> max_pool2d(x, 2, dilation=2, stride=1)         # taps 2 apart: rows/cols (0, 2) and (1, 3)
        tensor([[[[8., 9.],
                  [7., 5.]]]])
        >>> max_pool2d(x[..., :3, :3], 2, ceil_mode=True).shape  # a last, partial window is kept
        torch.Size([1, 1, 2, 2])
    """
    # BEGIN SOLUTION
    kernel, padding, dilation = _pair(kernel_size), _pair(padding), _pair(dilation)
    stride = kernel if stride is None else _pair(stride)
    sides = tuple(x.shape[-2:])
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"padding {padding} should be at most half of kernel_size {kernel}")
    counts = [_window_count(sides[a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode) for a in (0, 1)]
    if counts[0] < 1 or counts[1] < 1:
        raise RuntimeError(f"output size {tuple(counts)} is too small: a {kernel} window with dilation "
                           f"{dilation} does not fit in a {sides} input padded by {padding}")
    # pad with -inf: `padding` on each side, plus what a last ceil_mode window needs past the end
    spans = [(counts[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1)]
    extra = [max(0, spans[a] - sides[a] - 2 * padding[a]) for a in (0, 1)]
    padded = F.pad(x, (padding[1], padding[1] + extra[1], padding[0], padding[0] + extra[0]), value=float("-inf"))
    pooled = None
    for i in range(kernel[0]):
        rows = slice(i * dilation[0], i * dilation[0] + (counts[0] - 1) * stride[0] + 1, stride[0])
        for j in range(kernel[1]):
            cols = slice(j * dilation[1], j * dilation[1] + (counts[1] - 1) * stride[1] + 1, stride[1])
            tap = padded[:, :, rows, cols]  # tap (i, j) of every window
            pooled = tap if pooled is None else torch.maximum(pooled, tap)
    return pooled
    # END SOLUTION


def pool_variants():
    """The two max-pooling layers of the slides.

    Returns:
        A dict of two `nn.MaxPool2d` modules:
        - "square": a 3x3 window with stride 2 (padding 0, dilation 1, ceil_mode False);
        - "rect": a window of 3 rows by 2 columns, stride 2 along the height and 1 along the width.
        On an input of shape (2, 3, 4, 4) they give (2, 3, 1, 1) and (2, 3, 1, 3).
    """
    # BEGIN SOLUTION
    return {"square": nn.MaxPool2d(3, stride=2), "rect": nn.MaxPool2d((3, 2), stride=(2, 1))}
    # END SOLUTION
