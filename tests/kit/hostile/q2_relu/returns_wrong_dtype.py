"""leaky_relu computes in float64 and returns float64 whatever the input's dtype."""
import torch


def leaky_relu(x, negative_slope=0.01):
    x = x.double()
    return torch.where(x > 0, x, x * negative_slope)
