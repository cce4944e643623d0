"""A correct q9 written differently: the variance as mean of squares minus squared mean (torch.mean over a dims
tuple), rsqrt, running statistics moved with lerp_, the affine step done with addcmul."""
import torch
from torch import nn


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    dims = (0,) + tuple(range(2, x.dim()))
    expand = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    if training:
        mean = torch.mean(x, dim=dims, keepdim=True)
        var = torch.mean(x * x, dim=dims, keepdim=True) - mean * mean
        m = x.numel() / x.shape[1]
        with torch.no_grad():
            running_mean.lerp_(mean.reshape(-1), momentum)
            running_var.lerp_(var.reshape(-1) * (m / (m - 1)), momentum)
    else:
        mean, var = running_mean.reshape(expand), running_var.reshape(expand)
    normalised = (x - mean) * torch.rsqrt(var + eps)
    gamma = weight.reshape(expand) if weight is not None else torch.ones(expand, dtype=x.dtype)
    beta = bias.reshape(expand) if bias is not None else torch.zeros(expand, dtype=x.dtype)
    return torch.addcmul(beta, normalised, gamma)


class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight, self.bias = nn.Parameter(torch.ones(num_features)), nn.Parameter(torch.zeros(num_features))
        for name, start in ("running_mean", torch.zeros(num_features)), ("running_var", torch.ones(num_features)):
            self.register_buffer(name, start)
        self.register_buffer("num_batches_tracked", torch.tensor(0))

    def forward(self, x):
        if self.training:
            self.num_batches_tracked = self.num_batches_tracked + 1
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                          self.momentum, self.eps)
