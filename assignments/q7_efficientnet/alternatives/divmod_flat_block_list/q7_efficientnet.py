"""A correct q7 written differently: divmod rounding, layers registered in an unusual order, Bernoulli noise
from torch.bernoulli, the stochastic-depth probability as stochastic_depth_prob * (i / total).

It uses the stub's given MBConvConfig, BASE_BLOCKS and Scaling (hence the noqa: F821 where it names them)."""
import math
from dataclasses import replace

import torch
from torch import nn


TABLE = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
         "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
         "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}


def compound_scaling(name):
    try:
        return Scaling(*TABLE[name])  # noqa: F821, the stub's
    except KeyError:
        raise ValueError(f"{name!r} is not a variant; valid: {sorted(TABLE)}") from None


def make_divisible(value, divisor=8):
    quotient, remainder = divmod(value, divisor)
    rounded = int(quotient + (remainder >= divisor / 2)) * divisor
    rounded = max(rounded, divisor)
    if rounded / value < 0.9:
        rounded += divisor
    return rounded


def scale_config(config, scaling):
    def channels(count):
        return make_divisible(count * scaling.width)
    return replace(config, in_channels=channels(config.in_channels), out_channels=channels(config.out_channels),
                   layers=int(math.ceil(config.layers * scaling.depth)))


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze_channels):
        super().__init__()
        self.fc_up = nn.Conv2d(squeeze_channels, channels, kernel_size=1)      # registered first on purpose
        self.fc_down = nn.Conv2d(channels, squeeze_channels, kernel_size=1)

    def forward(self, x):
        pooled = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * self.fc_up(nn.functional.silu(self.fc_down(pooled))).sigmoid()


class StochasticDepth(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.full((len(x),) + (1,) * (x.dim() - 1), 1.0 - self.p, dtype=x.dtype, device=x.device)
        return x * torch.bernoulli(keep) / (1.0 - self.p)


class MBConv(nn.Module):
    def __init__(self, config, stochastic_depth_prob):
        super().__init__()
        hidden = config.expand_ratio * config.in_channels
        self.norms = nn.ModuleList([nn.BatchNorm2d(hidden), nn.BatchNorm2d(config.out_channels)])
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        self.project = nn.Conv2d(hidden, config.out_channels, 1, bias=False)
        self.se = SqueezeExcitation(hidden, max(1, config.in_channels // 4))
        self.depthwise = nn.Conv2d(hidden, hidden, config.kernel, config.stride, config.kernel // 2, groups=hidden,
                                   bias=False)
        if config.expand_ratio > 1:
            self.expansion = nn.Sequential(nn.Conv2d(config.in_channels, hidden, 1, bias=False),
                                           nn.BatchNorm2d(hidden), nn.SiLU())
        else:
            self.expansion = nn.Identity()
        self.use_residual = config.stride == 1 and config.in_channels == config.out_channels

    def forward(self, x):
        h = nn.functional.silu(self.norms[0](self.depthwise(self.expansion(x))))
        h = self.norms[1](self.project(self.se(h)))
        if self.use_residual:
            h = self.stochastic_depth(h) + x
        return h


class EfficientNet(nn.Module):
    def __init__(self, blocks, dropout, stochastic_depth_prob=0.2, num_classes=1000):
        super().__init__()
        total = sum(b.layers for b in blocks)
        first = [sum(b.layers for b in blocks[:s]) for s in range(len(blocks))]  # index of each stage's first block
        stages = [
            nn.Sequential(*[MBConv(b if j == 0 else replace(b, stride=1, in_channels=b.out_channels),
                                   stochastic_depth_prob * ((first[s] + j) / total)) for j in range(b.layers)])
            for s, b in enumerate(blocks)]
        last = blocks[-1].out_channels * 4
        stem = nn.Sequential(nn.Conv2d(3, blocks[0].in_channels, 3, 2, 1, bias=False),
                             nn.BatchNorm2d(blocks[0].in_channels), nn.SiLU())
        head = nn.Sequential(nn.Conv2d(blocks[-1].out_channels, last, 1, bias=False), nn.BatchNorm2d(last), nn.SiLU())
        self.features = nn.Sequential(stem, *stages, head)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.reshape(x.shape[0], -1))


def efficientnet(name, num_classes=1000):
    scaling = compound_scaling(name)
    return EfficientNet([scale_config(b, scaling) for b in BASE_BLOCKS], dropout=scaling.dropout,  # noqa: F821
                        num_classes=num_classes)
