"""A correct q7 written differently: Linear layers in squeeze-and-excitation, TensorFlow's BatchNorm settings
(eps 1e-3, momentum 0.01), named sub-layers instead of one Sequential, floor-based rounding.

It uses the stub's given MBConvConfig, BASE_BLOCKS and Scaling (hence the noqa: F821 where it names them)."""
import math

import torch
from torch import nn


NAMES = ("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7")
WIDTHS = (1.0, 1.0, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0)
DEPTHS = (1.0, 1.1, 1.2, 1.4, 1.8, 2.2, 2.6, 3.1)
RESOLUTIONS = (224, 240, 260, 300, 380, 456, 528, 600)
DROPOUTS = (0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5)


def compound_scaling(name):
    if name not in NAMES:
        raise ValueError(f"unknown variant {name!r}, expected one of: {' '.join(NAMES)}")
    i = NAMES.index(name)
    return Scaling(WIDTHS[i], DEPTHS[i], RESOLUTIONS[i], DROPOUTS[i])  # noqa: F821, the stub's


def make_divisible(value, divisor=8):
    rounded = max(divisor, math.floor(value / divisor + 0.5) * divisor)
    if 10 * rounded < 9 * value:
        rounded += divisor
    return int(rounded)


def scale_config(config, scaling):
    return MBConvConfig(config.expand_ratio, config.kernel, config.stride,  # noqa: F821, the stub's
                        make_divisible(config.in_channels * scaling.width),
                        make_divisible(config.out_channels * scaling.width),
                        int(-(-(config.layers * scaling.depth) // 1)))


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze_channels):
        super().__init__()
        self.down = nn.Linear(channels, squeeze_channels)
        self.up = nn.Linear(squeeze_channels, channels)

    def forward(self, x):
        squeezed = x.mean(dim=(2, 3))
        gate = torch.sigmoid(self.up(nn.functional.silu(self.down(squeezed))))
        return x * gate[:, :, None, None]


class StochasticDepth(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.training and self.p > 0:
            keep = 1 - self.p
            shape = [x.shape[0]] + [1] * (x.ndim - 1)
            survivors = (torch.rand(shape, device=x.device) < keep).to(x.dtype)
            return x * (survivors / keep)
        return x


class MBConv(nn.Module):
    def __init__(self, config, stochastic_depth_prob):
        super().__init__()
        channels = config.in_channels * config.expand_ratio
        self.expand = None
        if channels != config.in_channels:
            self.expand = nn.Sequential(nn.Conv2d(config.in_channels, channels, 1, bias=False), batch_norm(channels),
                                        nn.SiLU())
        self.depthwise = nn.Sequential(
            nn.Conv2d(channels, channels, config.kernel, stride=config.stride, padding=(config.kernel - 1) // 2,
                      groups=channels, bias=False),
            batch_norm(channels), nn.SiLU())
        self.excite = SqueezeExcitation(channels, max(1, config.in_channels // 4))
        self.project = nn.Sequential(nn.Conv2d(channels, config.out_channels, 1, bias=False),
                                     batch_norm(config.out_channels))
        self.use_residual = config.stride == 1 and config.in_channels == config.out_channels
        if self.use_residual:
            self.drop = StochasticDepth(stochastic_depth_prob)

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.excite(self.depthwise(out)))
        return x + self.drop(out) if self.use_residual else out


class ConvBNSiLU(nn.Sequential):
    def __init__(self, in_channels, out_channels, kernel, stride=1):
        super().__init__(nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
                         batch_norm(out_channels), nn.SiLU())


class EfficientNet(nn.Module):
    def __init__(self, blocks, dropout, stochastic_depth_prob=0.2, num_classes=1000):
        super().__init__()
        per_block = []  # (stage, config of one block)
        for stage, config in enumerate(blocks):
            per_block.append((stage, config))
            later = MBConvConfig(config.expand_ratio, config.kernel, 1, config.out_channels,  # noqa: F821
                                 config.out_channels, 1)
            per_block += [(stage, later)] * (config.layers - 1)
        stages = [nn.Sequential() for _ in blocks]
        for i, (stage, config) in enumerate(per_block):
            stages[stage].append(MBConv(config, stochastic_depth_prob * i / len(per_block)))
        head = 4 * blocks[-1].out_channels
        self.features = nn.Sequential(ConvBNSiLU(3, blocks[0].in_channels, 3, 2), *stages,
                                      ConvBNSiLU(blocks[-1].out_channels, head, 1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(head, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def efficientnet(name, num_classes=1000):
    scaling = compound_scaling(name)
    return EfficientNet([scale_config(row, scaling) for row in BASE_BLOCKS],  # noqa: F821
                        scaling.dropout, 0.2, num_classes)
