# Reference solution, generated from assignments/q5_linear/master.py by `autograder build`; do not edit.
"""Question 5: fully connected layers, written with matrix products.

At the end of a CNN, the flattened feature map goes through fully connected (linear) layers: every
output is a weighted sum of every input plus a bias,

    y = x A^T + b,   x: (*, in_features),  A: (out_features, in_features),  b: (out_features,),

where * is any number of leading dimensions (usually just the batch). This is what
`torch.nn.Linear(in_features, out_features, bias=True)` computes, with its parameters `weight` (A)
and `bias` (b).

Numbers from the slides that your code must reproduce:
- `Linear(20, 30)` applied to a batch of shape (128, 20) gives an output of shape (128, 30); it has
  30 * 20 + 30 = 630 parameters.
- The fully connected network (FCNN) for 128x128 images flattens them to 16384 inputs and has layers
  16384 -> 256 -> 128 -> 64 -> 32 -> 16 -> 1: 4,194,560 + 32,896 + 8,256 + 2,080 + 528 + 17 =
  4,238,337 parameters, where the small CNN of the same lecture needs only 49,519.
- LeNet's fully connected part, 400 -> 120 -> 84 -> 10, has 48,120 + 10,164 + 850 = 59,134
  parameters.

What to write
-------------
- `linear(x, weight, bias=None)`: y = x weight^T + bias, like `torch.nn.functional.linear`.
- `Linear(in_features, out_features, bias=True)`: a subclass of `nn.Module` (not of `nn.Linear`)
  with the attributes `in_features` and `out_features` and the parameters `weight` and `bias`,
  initialised as PyTorch does, whose forward calls your `linear`.
- `mlp_param_count(sizes)`: the number of parameters of a stack of fully connected layers.

Not allowed (the grader fails the test and names the function you used): `F.linear`,
`torch.nn.Linear` (it calls `linear`), `torch.addmm` and `F.bilinear`. Allowed: `@`, `torch.matmul`,
`torch.einsum`, `.T` / `.transpose`, reshaping and addition.

How it is graded
----------------
Public tests check the slide numbers, small hand-made cases, gradients, the module's parameters and
their initialisation, and the bans. Hidden tests compare `linear` with `F.linear` (values and the
gradients with respect to x, weight and bias) on many generated shapes (0 to 3 leading dimensions,
with and without bias, float32 and float64), check `Linear` for many sizes (parameters, forward,
initialisation bounds), and compare `mlp_param_count` with the parameters of real `nn.Linear`
stacks. Values and gradients are compared with a float64 computation: a result that adds up n
products may differ from it by 4 * (n + 2) * eps of your dtype times the sum of their absolute
values (and |bias|), which any correct order of summation meets.
"""
import math

import torch
from torch import nn


def linear(x, weight, bias=None):
    """Fully connected layer: y = x weight^T + bias, like `torch.nn.functional.linear`.

    Args:
        x: input of shape (*, in_features): any number of leading dimensions (none, a batch,
            several), floating point.
        weight: tensor of shape (out_features, in_features), same dtype as x.
        bias: tensor of shape (out_features,), same dtype as x, or None for no bias.

    Returns:
        A tensor of shape (*, out_features) and the dtype of x:
        y[..., j] = sum over i of x[..., i] * weight[j, i], plus bias[j].
        Gradients flow back to x, weight and bias through autograd.

    Examples:
        >>> x = torch.tensor([[1.0, 2.0]])                        # (1, 2): in_features = 2
        >>> weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])   # (3, 2): out_features = 3
        >>> linear(x, weight, torch.tensor([0.5, 0.0, -1.0]))
        tensor([[1.5000, 2.0000, 2.0000]])
        >>> linear(torch.ones(2, 4, 20), torch.zeros(30, 20)).shape
        torch.Size([2, 4, 30])
        >>> linear(torch.tensor([1.0, 2.0]), weight)              # no leading dimension: shape (3,)
        tensor([1., 2., 3.])
    """
    y = x @ weight.T
    if bias is not None:
        y = y + bias
    return y


class Linear(nn.Module):
    """Fully connected layer as a module, like `torch.nn.Linear(in_features, out_features, bias)`.

    Args:
        in_features: size of each input sample (an int >= 1).
        out_features: size of each output sample (an int >= 1).
        bias: if False, the layer has no bias (`self.bias` is None).

    Attributes:
        in_features, out_features: the two sizes, as given (ints).
        weight: an `nn.Parameter` of shape (out_features, in_features).
        bias: an `nn.Parameter` of shape (out_features,), or None when bias=False.
        Both are registered parameters (so `parameters()` and optimizers see them), float32, and
        initialised like PyTorch: every value drawn uniformly from [-k, k] with
        k = 1 / sqrt(in_features) (`torch.nn.init.uniform_` or `Tensor.uniform_` do the drawing).

    Shape:
        Input (*, in_features); output (*, out_features).

    Examples:
        >>> layer = Linear(20, 30)
        >>> layer(torch.randn(128, 20)).shape
        torch.Size([128, 30])
        >>> sum(p.numel() for p in layer.parameters())
        630
        >>> Linear(20, 30, bias=False).bias is None
        True
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        """y = x weight^T + bias for x of shape (*, in_features); returns shape (*, out_features)."""
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def mlp_param_count(sizes):
    """Number of parameters of a stack of fully connected layers, each with a bias.

    Args:
        sizes: a list of at least two ints [in_features, hidden_1, ..., out_features]; layer i maps
            sizes[i] features to sizes[i + 1] features. The activations between layers have no
            parameters.

    Returns:
        The total number of weights and biases, a Python int (not a tensor or numpy number).

    Examples:
        >>> mlp_param_count([20, 30])              # Linear(20, 30): 30 * 20 + 30
        630
        >>> mlp_param_count([400, 120, 84, 10])    # LeNet's fully connected part
        59134
    """
    total = 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        total += fan_out * fan_in + fan_out
    return total
