"""Checks of q2 (ReLU, leaky ReLU): the bans and the float64 references."""
import torch

from ..checks import Tolerance, allowance, backpropagate

# Ready-made rectifiers and clamps, by the __name__ the worker's ban sees (F.threshold reports "_threshold").
RECTIFIER_BANS = ("relu", "relu_", "threshold", "threshold_", "_threshold", "hardtanh", "hardtanh_", "clamp",
                  "clamp_", "clamp_min", "clamp_min_", "clip", "clip_", "leaky_relu", "leaky_relu_", "prelu",
                  "rrelu", "rrelu_", "elu", "elu_")


def activation_allowance(reference_input: torch.Tensor, dtype: torch.dtype) -> Tolerance:
    """Elementwise error any correct implementation of an activation in `dtype` stays within:
    a few roundings of numbers no larger than |reference_input| (x for values, grad_output for gradients)."""
    info = torch.finfo(dtype)
    return allowance(4 * info.eps * reference_input.detach().double().abs() + info.tiny,
                     f"a few roundings in {str(dtype).removeprefix('torch.')}")


def activation_reference(function, x: torch.Tensor, grad_output=None, **kwargs):
    """torch's own activation `function` on x in float64: (values, gradient of values . grad_output)."""
    x64 = x.detach().double().requires_grad_()
    values = function(x64, **kwargs)
    if grad_output is None:
        return values.detach(), None
    return values.detach(), backpropagate(values, [x64], grad_output.double())[0]
