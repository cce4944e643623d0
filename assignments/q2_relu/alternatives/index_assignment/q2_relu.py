"""A correct q2 written differently: copy the input, then overwrite the non-positive entries by indexing."""
from torch import nn


def relu(x):
    out = x.clone()
    out[x <= 0] = 0
    return out


def leaky_relu(x, negative_slope=0.01):
    out = x.clone()
    not_positive = x <= 0
    out[not_positive] = x[not_positive] * negative_slope
    return out


class ReLU(nn.Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        if not self.inplace:
            return relu(x)
        x[x <= 0] = 0
        return x
