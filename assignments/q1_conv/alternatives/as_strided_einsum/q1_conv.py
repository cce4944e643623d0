"""q1 written with a strided view of every window (as_strided) contracted by einsum."""
import torch
import torch.nn.functional as F
from torch import nn


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    c_out, c_in, kh, kw = weight.shape
    n, c, h, w = x.shape
    if c != c_in:
        raise RuntimeError(f"conv2d: input has {c} channels, weight has {c_in}")
    hp, wp = h + 2 * ph, w + 2 * pw
    if dh * (kh - 1) + 1 > hp or dw * (kw - 1) + 1 > wp:
        raise RuntimeError("conv2d: kernel larger than padded input")
    out_h = (hp - dh * (kh - 1) - 1) // sh + 1
    out_w = (wp - dw * (kw - 1) - 1) // sw + 1
    padded = F.pad(x, (pw, pw, ph, ph)).contiguous()
    s_n, s_c, s_h, s_w = padded.stride()
    windows = padded.as_strided((n, c, out_h, out_w, kh, kw),
                                (s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw))
    out = torch.einsum("nchwij,ocij->nohw", windows, weight)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1, 1)
    return out


def conv_variants():
    return dict(
        square=nn.Conv2d(16, 33, kernel_size=3, stride=2),
        rect_padded=nn.Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2)),
        dilated=nn.Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
    )


def variant_output_shapes(input_shape):
    n, _, h, w = (int(v) for v in input_shape)
    shapes = {}
    for name, layer in conv_variants().items():
        size = []
        for axis, length in enumerate((h, w)):
            k, s, p, d = layer.kernel_size[axis], layer.stride[axis], layer.padding[axis], layer.dilation[axis]
            size.append((length + 2 * p - d * (k - 1) - 1) // s + 1)
        shapes[name] = (n, layer.out_channels, *size)
    return shapes


def conv_param_count(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = _pair(kernel_size)
    weight = torch.Size([out_channels, in_channels, kh, kw]).numel()
    return weight + out_channels * bool(bias)
