"""A correct q5 written differently: broadcast x against every row of weight and sum the products."""
import math

import torch
from torch import nn


def linear(x, weight, bias=None):
    products = x.unsqueeze(-2) * weight          # (*, out_features, in_features)
    y = products.sum(dim=-1)
    if bias is not None:
        y = y + bias
    return y


class Linear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.uniform_(self.weight, -bound, bound)
        drawn = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound)) if bias else None
        self.register_parameter("bias", drawn)  # None registers "no bias", as nn.Linear does

    def forward(self, x):
        return linear(x, self.weight, self.bias)


def mlp_param_count(sizes):
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    biases = sum(sizes[1:])
    return int(weights + biases)
