"""Question 9: batch normalisation from scratch, as a function and as a layer.

Batch normalisation rescales the activations of a layer so that, over a mini-batch, each feature has
mean 0 and variance 1, then lets the network choose a scale and a shift of its own. For a mini-batch
of m values x_1 ... x_m of one feature, the slides write it in four steps:

    mu      = (1 / m) * sum_i x_i                    mini-batch mean
    sigma^2 = (1 / m) * sum_i (x_i - mu)^2           mini-batch variance (divided by m: "biased")
    xhat_i  = (x_i - mu) / sqrt(sigma^2 + eps)       normalise (eps keeps the division safe)
    y_i     = gamma * xhat_i + beta                  scale and shift, gamma and beta learned

For a fully connected layer the input is x of shape (N, D) and every one of the D features has its own
statistics and its own gamma, beta (vectors of D numbers). In a CNN the input has shape (N, C, H, W)
and batch normalisation works **channel-wise**: the statistics of channel c are taken over every image
of the batch and every pixel, i.e. over the dimensions N, H and W together (m = N * H * W values), and
gamma, beta are vectors of C numbers, one per channel.

During training the layer also keeps running estimates of each channel's mean and variance, which it
uses instead of the batch statistics in evaluation mode (`model.eval()`), where a single image must
give the same answer whatever else is in its batch. PyTorch updates them after every training batch as

    running_mean = (1 - momentum) * running_mean + momentum * mu
    running_var  = (1 - momentum) * running_var  + momentum * sigma^2 * m / (m - 1)

Note the last factor: the running variance is fed the UNBIASED variance of the batch (divided by
m - 1), while the normalisation itself uses the biased one (divided by m).

Numbers from the slides: the CIFAR-10 CNN of the lecture puts `nn.BatchNorm2d(32)`,
`nn.BatchNorm2d(128)` and `nn.BatchNorm2d(256)` after three of its convolutions; printed, the first one
reads `BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)`, so eps = 1e-5
and momentum = 0.1 are the defaults. Each such layer has 2 * C learned parameters (gamma and beta):
64 for 32 channels, and 64 + 256 + 512 = 832 for the three layers together.

What to write
-------------
- `batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
  eps=1e-5)`: like `torch.nn.functional.batch_norm`, for x of shape (N, C) or (N, C, H, W) (see the
  docstring). In training mode it normalises with the batch statistics and updates `running_mean` and
  `running_var` IN PLACE (the caller's tensors change; assigning a new tensor to the name does not do
  that); in evaluation mode it normalises with the running statistics and leaves them alone.
- `BatchNorm2d(num_features, eps=1e-5, momentum=0.1)`: a subclass of `nn.Module` (not of
  `nn.BatchNorm2d`) that behaves like `nn.BatchNorm2d` with its default options (see its docstring):
  the same parameters and buffers with the same names, so that a `state_dict` saved from one loads
  into the other, and a `forward` that follows the module's own mode (`self.training`).

Gradients: autograd must give the same gradients as PyTorch with respect to x, weight and bias, in both
modes. In training mode the batch mean and variance depend on x, so gradients flow through them too
(do not detach them). The update of the running statistics is bookkeeping, not part of the
computation: do it under `torch.no_grad()` (the grader may hand you running statistics that require
grad, as an optimiser's parameters do; an in-place update outside `no_grad` then fails).

Not allowed (the grader fails the test and names the function you used): PyTorch's ready-made
normalisations in any spelling: `F.batch_norm`, `torch.batch_norm`, `nn.BatchNorm1d/2d/3d` (they call
`batch_norm`), `torch.native_batch_norm` and the other internal batch-norm functions,
`F.instance_norm`, `F.layer_norm`, `F.group_norm`, `F.rms_norm`. Allowed: `mean`, `var`, `std`,
`torch.var_mean`, `sum`, `sqrt`, `rsqrt`, arithmetic, reshaping and broadcasting.

How it is graded
----------------
Public tests check a hand-made example in both modes, the running-statistics update with the default
momentum 0.1, gradients, the bans, and the slides' `BatchNorm2d` layers (parameters, buffers,
state_dict, a training step and evaluation). Hidden tests compare `batch_norm` with
`F.batch_norm` on many generated inputs: shapes (N, C) and (N, C, H, W) with 1-5 channels and at
least 2 values per channel, float32 and float64, channels of very different means and spreads, with
and without weight and bias, eps from 1e-5 to 0.1, momentum from 0 to 1, both modes; the output, the
running statistics afterwards, the gradients with respect to x, weight and bias, and that x is left
unchanged. They run `BatchNorm2d` next to `nn.BatchNorm2d` over several training batches and then in
evaluation mode (outputs, running statistics, num_batches_tracked), and move state_dicts between the
two. Values are compared with a float64 computation; the tolerance allows the rounding of any sound
way of computing the statistics (two passes, or sums of squares), a few hundred eps of your dtype
for ordinary inputs.
"""
import torch
from torch import nn


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation per channel, like `torch.nn.functional.batch_norm`.

    Args:
        x: input of shape (N, C) or (N, C, H, W), float32 or float64. Channel c is x[:, c] (all of
            its images and pixels); in training mode each channel holds at least 2 values.
        running_mean: tensor of shape (C,), the dtype of x: the running mean of each channel.
        running_var: tensor of shape (C,), the dtype of x: the running variance of each channel.
        weight: gamma, a tensor of shape (C,), or None for gamma = 1.
        bias: beta, a tensor of shape (C,), or None for beta = 0.
        training: if True, normalise with the batch statistics and update the running ones; if
            False, normalise with running_mean and running_var.
        momentum: a float from 0 to 1, the weight of the new batch in the running statistics.
        eps: a positive float added to the variance before the square root.

    Returns:
        A new tensor y of the shape and dtype of x:
        y[:, c] = (x[:, c] - mean_c) / sqrt(var_c + eps) * weight[c] + bias[c],
        where in training mode mean_c and var_c are the mean and the biased variance (divided by m)
        of the m values of channel c over N (and H, W), and in evaluation mode running_mean[c] and
        running_var[c]. `x` itself is not changed.

        In training mode, also updates the running statistics in place (under torch.no_grad()):
        running_mean = (1 - momentum) * running_mean + momentum * mean_c, and
        running_var = (1 - momentum) * running_var + momentum * var_c * m / (m - 1)
        (the unbiased variance). In evaluation mode they are left unchanged.

    Examples:
        >>> x = torch.tensor([[1., 10.], [2., 20.], [3., 30.], [4., 40.]])   # (N, C) = (4, 2)
        >>> running_mean, running_var = torch.zeros(2), torch.ones(2)
        >>> batch_norm(x, running_mean, running_var, training=True)        # mean 2.5 and 25, var 1.25 and 125
        tensor([[-1.3416, -1.3416],
                [-0.4472, -0.4472],
                [ 0.4472,  0.4472],
                [ 1.3416,  1.3416]])
        >>> running_mean, running_var       # 0.1 * 2.5, and 0.9 * 1 + 0.1 * (5 / 3)
        (tensor([0.2500, 2.5000]), tensor([ 1.0667, 17.5667]))
        >>> batch_norm(x, running_mean, running_var)                       # evaluation mode: running statistics
        tensor([[0.7262, 1.7894],
                [1.6944, 4.1754],
                [2.6627, 6.5613],
                [3.6309, 8.9472]])
        >>> batch_norm(x, torch.zeros(2), torch.ones(2), torch.tensor([2., 0.5]), torch.tensor([0., 1.]),
        ...            training=True)
        tensor([[-2.6833,  0.3292],
                [-0.8944,  0.7764],
                [ 0.8944,  1.2236],
                [ 2.6833,  1.6708]])
    """
    # BEGIN SOLUTION
    dims = [0] + list(range(2, x.dim()))       # every dimension but the channels
    shape = [1, -1] + [1] * (x.dim() - 2)      # a (C,) vector, broadcast along the channel dimension
    if training:
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, correction=0)    # biased: divided by m, for normalising
        count = x.numel() // x.shape[1]
        with torch.no_grad():
            unbiased = var * count / (count - 1)
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * unbiased)
    else:
        mean, var = running_mean, running_var
    centred = x - mean.reshape(shape)
    y = centred / torch.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y
    # END SOLUTION


class BatchNorm2d(nn.Module):
    """Batch normalisation of (N, C, H, W) inputs as a layer, like `nn.BatchNorm2d(num_features)`.

    Args:
        num_features: C, the number of channels (an int >= 1).
        eps: added to the variance before the square root (default 1e-5, as on the slides).
        momentum: the weight of each new batch in the running statistics (default 0.1).

    Attributes:
        num_features, eps, momentum: as given.
        weight: gamma, an `nn.Parameter` of shape (C,), float32, initialised to ones.
        bias: beta, an `nn.Parameter` of shape (C,), float32, initialised to zeros.
        running_mean: a buffer (`self.register_buffer`) of shape (C,), float32, initialised to zeros.
        running_var: a buffer of shape (C,), float32, initialised to ones.
        num_batches_tracked: a buffer holding a 0-d int64 tensor, initially 0, that counts the training
            batches seen.
        So `parameters()` yields weight and bias (2 * C numbers) and `state_dict()` has the keys
        weight, bias, running_mean, running_var and num_batches_tracked, as nn.BatchNorm2d's.

    Shape:
        Input (N, C, H, W); output (N, C, H, W), the same dtype.

    Examples:
        >>> layer = BatchNorm2d(32)
        >>> sum(p.numel() for p in layer.parameters())
        64
        >>> list(layer.state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        >>> x = torch.arange(8.).reshape(2, 1, 2, 2)       # one channel, values 0 ... 7
        >>> y = BatchNorm2d(1)(x)                           # a new layer is in training mode
        >>> [round(v, 4) for v in y.flatten().tolist()]
        [-1.5275, -1.0911, -0.6547, -0.2182, 0.2182, 0.6547, 1.0911, 1.5275]
        >>> layer = BatchNorm2d(1); _ = layer(x)
        >>> layer.running_mean, layer.running_var, layer.num_batches_tracked   # 0.1 * 3.5, 0.9 + 0.1 * 6
        (tensor([0.3500]), tensor([1.5000]), tensor(1))
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        # BEGIN SOLUTION
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        # END SOLUTION

    def forward(self, x):
        """Normalise x of shape (N, C, H, W): batch statistics in training mode, running ones in eval mode."""
        # BEGIN SOLUTION
        if self.training:
            self.num_batches_tracked += 1
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          training=self.training, momentum=self.momentum, eps=self.eps)
        # END SOLUTION

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine=True, track_running_stats=True"
