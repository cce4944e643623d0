"""A correct q9 written differently: channels moved first and flattened to (C, m) rows, statistics from explicit
sums, running statistics overwritten with copy_, parameters registered by name."""
import torch
from torch import nn


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    channels = x.shape[1]
    rows = x.transpose(0, 1).reshape(channels, -1)          # (C, m): one row per channel
    if training:
        m = rows.shape[1]
        mean = rows.sum(dim=1) / m
        deviation = rows - mean[:, None]
        var = (deviation * deviation).sum(dim=1) / m
        with torch.no_grad():
            running_mean.copy_(running_mean + momentum * (mean - running_mean))
            running_var.copy_(running_var + momentum * (var * m / (m - 1) - running_var))
    else:
        mean, var = running_mean, running_var
    scale = 1 / torch.sqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    out_rows = rows * scale[:, None] + shift[:, None]
    moved = list(x.shape)
    moved[0], moved[1] = moved[1], moved[0]
    return out_rows.reshape(moved).transpose(0, 1)


class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.register_parameter("weight", nn.Parameter(torch.full((num_features,), 1.0)))
        self.register_parameter("bias", nn.Parameter(torch.full((num_features,), 0.0)))
        self.register_buffer("running_mean", torch.full((num_features,), 0.0))
        self.register_buffer("running_var", torch.full((num_features,), 1.0))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if self.training:
            self.num_batches_tracked.add_(1)
            return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True,
                              self.momentum, self.eps)
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)
