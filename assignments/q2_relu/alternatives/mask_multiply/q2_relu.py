"""A correct q2 written differently: multiply by a 0/1 mask of the positive entries."""
from torch import nn


def relu(x):
    return x * (x > 0)  # a bool mask promotes to x's dtype


class ReLU(nn.Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        if self.inplace:
            x.mul_(x > 0)
            return x
        return relu(x)


def leaky_relu(x, negative_slope=0.01):
    positive = (x > 0).to(x.dtype)
    return x * positive + negative_slope * x * (1 - positive)
