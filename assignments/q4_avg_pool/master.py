"""Question 4: average pooling from scratch, and the slides' "average pooling 1 and 2".

Average pooling slides a window over each channel of each image, like max pooling (question 3),
but keeps the mean of the values under the window instead of the largest one. The slides'
example, a 2x2 window moved by 2 pixels:

    [[31,  15, 28, 184],
     [ 0, 100, 70,  38],     mean of each 2x2 block       [[36.5, 80],
     [12,  12,  7,   2],     ---------------------->       [12,   15]]
     [12,  12, 45,   6]]

(31 + 15 + 0 + 100) / 4 = 36.5 and (7 + 2 + 45 + 6) / 4 = 15.

How `nn.AvgPool2d` / `F.avg_pool2d` work (one image, one channel; rows and columns alike)
------------------------------------------------------------------------------------------
- Window (h, w) covers input rows h * stride[0] - padding[0] ... h * stride[0] - padding[0] + kH - 1
  and the matching columns; every image and channel is pooled on its own. There is no dilation.
- `stride` defaults to the kernel size; `padding` adds that many rows/columns of zeros on each
  side (at most kernel_size // 2, as in max pooling).
- The output size follows the same rule as max pooling (question 8): the floor formula, or with
  `ceil_mode=True` rounding up, minus a last window that would start past the input and its
  left/top padding ((out - 1) * stride >= size + padding).
- Each output is (sum of the input values under the window) / (divisor). Padding adds zeros to
  the sum. What the divisor counts is the subtle part:
  - `count_include_pad=True` (the default): the window positions that lie inside the PADDED input,
    i.e. rows -padding[0] ... H + padding[0] - 1 and columns -padding[1] ... W + padding[1] - 1.
    That is kH * kW for every window, except a last `ceil_mode` window that hangs past the
    bottom/right padding: the part beyond the padding is not counted.
  - `count_include_pad=False`: only the window positions inside the input itself (rows 0 ... H-1,
    columns 0 ... W-1), so padding never lowers an average.
  Rows and columns are clipped separately, so a divisor is (rows counted) * (columns counted).
  On the slides' 4x4 input with a 3x3 window, stride 2 and ceil_mode=True there are 2x2 windows:
  the bottom-right one covers rows 2-4 and columns 2-4, only rows/columns 2-3 exist, so it
  averages 4 values: (7 + 2 + 45 + 6) / 4 = 15. With padding 1 as well, the bottom-right window
  covers rows/columns 3-5; rows/columns 3-4 lie in the padded input (divisor 2 * 2 = 4, giving
  6 / 4 = 1.5) but only row/column 3 in the input (count_include_pad=False: divisor 1, giving 6).
- kernel_size, stride and padding are each an int (the same for height and width) or a
  (height, width) pair.

The slides then ask for "average pooling 1 and 2" on the same (2, 3, 4, 4) input as the max
pooling layers of question 3. Use the same windows: `nn.AvgPool2d(3, stride=2)` (output
(2, 3, 1, 1)) and `nn.AvgPool2d((3, 2), stride=(2, 1))` (output (2, 3, 1, 3)).

What to write
-------------
- `avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)`:
  the same result as `F.avg_pool2d` (without its divisor_override), written with basic tensor
  operations (slicing, sums, `F.pad`, `Tensor.unfold` or `F.unfold` are fine). You may NOT use
  torch's average pooling (`F.avg_pool1d/2d/3d`, `nn.AvgPool1d/2d/3d`, `F.adaptive_avg_pool*`,
  `F.lp_pool*`, `F.interpolate`) nor a convolution (`F.conv1d/2d/3d`, `nn.Conv2d`). A call that
  uses one of them fails the test. Keep to torch operations on `x` so that autograd can send
  gradients back through your function.
- `pool_variants()`: the two layers, as real `nn.AvgPool2d` modules.

How it is graded
----------------
Public tests check the slides' example, padding with both count_include_pad settings, ceil_mode
windows over the edge, a gradient, the errors to raise and the two layers. Hidden tests compare
your output and its gradients with `F.avg_pool2d` (computed in float64) on many generated inputs:
float32 and float64, 1-3 images, 1-4 channels, kernels up to 4 (square or not), strides,
paddings, ceil_mode, count_include_pad, and transposed (not contiguous) inputs. Results keep x's
dtype; the tolerance allows the rounding of any sound way of summing (window by window, or with
prefix sums): 4 * eps of x's dtype * (kH * kW + H + 2 * padding[0] + W + 2 * padding[1]) *
max(1, largest |x|), with |grad_output| in place of |x| for the gradients.
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


def _window_count(side, kernel, stride, padding, ceil_mode):
    """How many windows PyTorch fits along an axis of `side` input elements."""
    room = side + 2 * padding - kernel  # the last start a whole window fits after
    count = (-(-room // stride) if ceil_mode else room // stride) + 1  # windows started, rounded up or down
    if ceil_mode and (count - 1) * stride >= side + padding:  # the last window would start in the right padding
        count -= 1
    return count


def _counted(count, side, kernel, stride, padding, count_include_pad):
    """Per window along one axis, how many of its positions the divisor counts (a 1-D tensor)."""
    starts = torch.arange(count) * stride - padding
    ends = torch.clamp(starts + kernel, max=side + padding)  # a last ceil_mode window stops at the padding
    if count_include_pad:
        return ends - starts
    return torch.clamp(ends, max=side) - torch.clamp(starts, min=0)
# END SOLUTION


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """2-D average pooling of a batch of images, like `F.avg_pool2d`, without pooling or convolution functions.

    Args:
        x: the (N, C, H, W) images to average, float32 or float64, possibly a non-contiguous view.
        kernel_size: the window, kH rows by kW columns: an int k (k x k) or a (kH, kW) pair.
        stride: how far the window moves, an int or a (height, width) pair; None (the default)
            moves it by kernel_size, so that windows touch without overlapping.
        padding: rows/columns of zeros added on each side, an int or a pair; at most kH // 2 rows
            and kW // 2 columns.
        ceil_mode: if True, round the output size up (with PyTorch's last-window rule, see the
            question statement) instead of down.
        count_include_pad: if True, the divisor counts the window's positions inside the padded
            input; if False, only those inside the input itself.

    Returns:
        The averages, a tensor of x's dtype and shape (N, C, H_out, W_out): out[n, c, h, w] is the
        sum of x[n, c] over window (h, w), that is rows h * stride[0] - padding[0] to
        h * stride[0] - padding[0] + kH - 1 and the matching columns (padding adds zeros to it),
        divided by the number of positions that count_include_pad counts (see the question
        statement). There is no dilation: H_out = floor((H + 2 * padding[0] - kH) / stride[0]) + 1,
        rounded up instead in ceil_mode, and W_out likewise. Autograd must reach x through the result.

    Raises:
        RuntimeError: as F.avg_pool2d does, for padding[0] > kH // 2 or padding[1] > kW // 2, and
            for H_out < 1 or W_out < 1 (not even one kH x kW window fits in the padded input).

    Examples:
        >>> x = torch.tensor([[[[31., 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]]]])
        >>> avg_pool2d(x, 2)
        tensor([[[[36.5000, 80.0000],
                  [12.0000, 15.0000]]]])
        >>> avg_pool2d(x, 2, padding=1)                            # corner: (0 + 0 + 0 + 31) / 4
        tensor([[[[ 7.7500, 10.7500, 46.0000],
                  [ 3.0000, 47.2500, 10.0000],
                  [ 3.0000, 14.2500,  1.5000]]]])
        >>> avg_pool2d(x, 2, padding=1, count_include_pad=False)   # corner: 31 / 1
        tensor([[[[ 31.0000,  21.5000, 184.0000],
                  [  6.0000,  47.2500,  20.0000],
                  [ 12.0000,  28.5000,   6.0000]]]])
        >>> avg_pool2d(x, 3, stride=2, ceil_mode=True)             # right windows hold 3 x 2 values
        tensor([[[[30.5556, 54.8333],
                  [16.6667, 15.0000]]]])
        >>> avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        tensor([[[[16.2222, 48.3333, 37.0000],
                  [16.4444, 32.4444,  7.6667],
                  [ 4.0000, 10.5000,  1.5000]]]])
    """
    # BEGIN SOLUTION
    kernel, padding = _pair(kernel_size), _pair(padding)
    stride = kernel if stride is None else _pair(stride)
    sides = tuple(x.shape[-2:])
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"padding {padding} should be at most half of kernel_size {kernel}")
    counts = [_window_count(sides[a], kernel[a], stride[a], padding[a], ceil_mode) for a in (0, 1)]
    if counts[0] < 1 or counts[1] < 1:
        raise RuntimeError(f"output size {tuple(counts)} is too small: a {kernel} window does not fit in "
                           f"a {sides} input padded by {padding}")
    # pad with zeros: `padding` on each side, plus what a last ceil_mode window needs past the end
    spans = [(counts[a] - 1) * stride[a] + kernel[a] for a in (0, 1)]
    extra = [max(0, spans[a] - sides[a] - 2 * padding[a]) for a in (0, 1)]
    padded = F.pad(x, (padding[1], padding[1] + extra[1], padding[0], padding[0] + extra[0]))
    total = 0
    for i in range(kernel[0]):
        rows = slice(i, i + (counts[0] - 1) * stride[0] + 1, stride[0])
        for j in range(kernel[1]):
            cols = slice(j, j + (counts[1] - 1) * stride[1] + 1, stride[1])
            total = total + padded[:, :, rows, cols]  # tap (i, j) of every window
    heights = _counted(counts[0], sides[0], kernel[0], stride[0], padding[0], count_include_pad)
    widths = _counted(counts[1], sides[1], kernel[1], stride[1], padding[1], count_include_pad)
    divisor = torch.outer(heights, widths).to(device=x.device, dtype=x.dtype)
    return total / divisor
    # END SOLUTION


def pool_variants():
    """The slides' "average pooling 1 and 2", with the windows of question 3's max-pooling layers.

    Returns:
        A dict of two `nn.AvgPool2d` modules:
        - "square": a 3x3 window with stride 2 (padding 0, ceil_mode False, count_include_pad True);
        - "rect": a window of 3 rows by 2 columns, stride 2 along the height and 1 along the width.
        On an input of shape (2, 3, 4, 4) they give (2, 3, 1, 1) and (2, 3, 1, 3).
    """
    # BEGIN SOLUTION
    return {"square": nn.AvgPool2d(3, stride=2), "rect": nn.AvgPool2d((3, 2), stride=(2, 1))}
    # END SOLUTION
