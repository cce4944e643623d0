"""A correct q5 written differently: flatten the leading dimensions, torch.matmul, reshape back; torch.rand init."""
import torch
from torch import nn


def linear(x, weight, bias=None):
    out_features, in_features = weight.shape
    rows = x.reshape(-1, in_features)
    y = torch.matmul(rows, weight.t())
    if bias is not None:
        y = y + bias.unsqueeze(0)
    return y.reshape(*x.shape[:-1], out_features)


class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        k = in_features ** -0.5
        self.weight = nn.Parameter(torch.rand(out_features, in_features) * 2 * k - k)
        self.bias = nn.Parameter(torch.rand(out_features) * 2 * k - k) if bias else None

    def forward(self, x):
        return linear(x, self.weight, self.bias)


def mlp_param_count(sizes):
    total = 0
    for i in range(1, len(sizes)):
        total += (sizes[i - 1] + 1) * sizes[i]  # each output has one weight per input, plus its bias
    return total
