"""Question 2: ReLU and leaky ReLU, written with basic tensor operations.

After a convolution, a CNN almost always applies an activation function element by element. The
most common one is the rectified linear unit,

    ReLU(x) = max(0, x):  x where x > 0, and 0 elsewhere.

Leaky ReLU keeps a small slope for negative inputs instead of cutting them to zero,

    LeakyReLU(x) = x where x > 0, and negative_slope * x elsewhere.

PyTorch's default slope is 0.01; the slides write leaky ReLU as max(0.1x, x), which is the same
function with negative_slope=0.1.

Numbers from the slides that your code must reproduce: `nn.ReLU()` on the 5x5 matrix
[[0.7753, -1.6358, 1.1919, -0.6742, -0.4419], [0.3367, -0.8557, 0.8647, -1.6617, 1.0797], ...]
keeps every positive entry (0.7753, 1.1919, 0.3367, ...) and turns every negative one into 0.0000.
With negative_slope=0.1, leaky ReLU maps -2.0 to -0.2 and 3.0 to 3.0.

What to write
-------------
- `relu(x)`: ReLU of a tensor of any shape and any floating-point dtype; it returns a new tensor and
  leaves `x` unchanged.
- `ReLU(inplace=False)`: an `nn.Module` that behaves like `torch.nn.ReLU`, including its `inplace`
  option (see the class docstring).
- `leaky_relu(x, negative_slope=0.01)`: like `torch.nn.functional.leaky_relu`.

Gradients: autograd must give the same gradients as PyTorch. At exactly x = 0 (and -0.0) PyTorch
uses the gradient of the "x <= 0" side: 0 for ReLU and negative_slope for leaky ReLU. Some formulas
that give the right values have the wrong gradient there (for example `torch.maximum(x, 0 * x)`
splits it and gives 1/2), so test yours at 0.

Not allowed (the grader fails the test and names the function you used): PyTorch's ready-made
rectifiers and clamps in any spelling, i.e. `relu`, `relu_`, `threshold`, `hardtanh`, `clamp`,
`clamp_min`, `clip`, `leaky_relu`, `prelu`, `rrelu`, `elu` (and their in-place `_` versions) as
`torch.relu`, `F.relu`, `x.relu()`, `nn.ReLU`, `x.clamp(min=0)`, ... Allowed: comparisons
(`x > 0`), `torch.where`, masks, multiplication, `torch.zeros_like`, and the like.

How it is graded
----------------
Public tests check the slide example, small hand-made cases (zeros, -0.0, empty and 0-d tensors),
the gradients at 0, that the input is left alone, the `inplace` option and the bans. Hidden tests
compare your functions and module with PyTorch's on many generated tensors: shapes with 0 to 4
dimensions, dtypes float32, float64, float16 and bfloat16, finite values with exact zeros and
negative zeros, slopes between 0 and 1; values, gradients and what happens to the input. Values
and gradients must have the input's dtype and match PyTorch's within 4 * eps of that dtype times
|x| (|grad_output| for gradients): a few roundings at most.
"""
import torch
from torch import nn


def relu(x):
    """Rectified linear unit, element by element: max(0, x).

    Args:
        x: a tensor of any shape (*) and any floating-point dtype, with finite values.

    Returns:
        A new tensor of the same shape (*) and dtype as `x`: x where x > 0, and 0 elsewhere.
        `x` itself is not changed. The gradient is 1 where x > 0 and 0 where x <= 0 (also at
        exactly 0), as for `torch.relu`.

    Examples:
        >>> relu(torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0]))
        tensor([0.0000, 0.0000, 0.0000, 0.5000, 3.0000])
        >>> relu(torch.tensor([[1.5, -1.5]], dtype=torch.float64))
        tensor([[1.5000, 0.0000]], dtype=torch.float64)
    """
    # BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    # END SOLUTION


class ReLU(nn.Module):
    """ReLU as a layer, like `torch.nn.ReLU(inplace=False)`.

    Args:
        inplace: if False (the default), `forward(x)` leaves `x` unchanged and returns a new tensor,
            as `relu(x)` does. If True, `forward(x)` writes the result into `x` itself and returns
            that same tensor object (`layer(x) is x`), which saves memory when the input is not
            needed afterwards.

    Shape:
        Input (*), any number of dimensions; output (*), the same shape and dtype.

    Examples:
        >>> x = torch.tensor([-1.0, 2.0])
        >>> y = ReLU()(x)              # x is still tensor([-1., 2.]); y is tensor([0., 2.])
        >>> z = ReLU(inplace=True)(x)  # now x is tensor([0., 2.]) and z is x
        >>> ReLU(inplace=True)
        ReLU(inplace=True)
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        """Apply ReLU to `x` (a tensor of any shape), in place when `self.inplace` is True."""
        # BEGIN SOLUTION
        if self.inplace:
            return x.masked_fill_(x <= 0, 0)
        return relu(x)
        # END SOLUTION

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


def leaky_relu(x, negative_slope=0.01):
    """Leaky ReLU, element by element, like `torch.nn.functional.leaky_relu`.

    Args:
        x: a tensor of any shape (*) and any floating-point dtype, with finite values.
        negative_slope: a Python float, the slope used where x <= 0 (graded for values from 0 to 1;
            the slides use 0.1).

    Returns:
        A new tensor of the same shape (*) and dtype as `x`: x where x > 0, and
        negative_slope * x elsewhere. `x` itself is not changed. The gradient is 1 where x > 0 and
        negative_slope where x <= 0 (also at exactly 0).

    Examples:
        >>> leaky_relu(torch.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.0200,  0.0000,  3.0000])
        >>> leaky_relu(torch.tensor([-2.0, 0.0, 3.0]), negative_slope=0.1)   # max(0.1x, x)
        tensor([-0.2000,  0.0000,  3.0000])
    """
    # BEGIN SOLUTION
    return torch.where(x > 0, x, x * negative_slope)
    # END SOLUTION
