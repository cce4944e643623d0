"""Checks of q5 (fully connected layers): the bans, the float64 reference with its allowances, the initialisation."""
import torch
import torch.nn.functional as F

from ..checks import Tolerance, allowance, backpropagate, short_number

# F.linear and nn.Linear both report "linear".
LINEAR_BANS = ("linear", "addmm", "addmm_", "bilinear")
LINEAR_ARGUMENTS = {0: "x", 1: "weight", 2: "bias"}


def _sum_allowance(bound: torch.Tensor, terms: int, dtype: torch.dtype) -> Tolerance:
    """Rounding error of a sum of `terms` products whose absolute values add up to `bound`, computed in
    `dtype` in any order, compared with a float64 reference (a 4x margin over the worst case)."""
    return allowance(4 * (terms + 2) * torch.finfo(dtype).eps * bound + torch.finfo(dtype).tiny,
                     f"the rounding of sums of {terms} products in {str(dtype).removeprefix('torch.')}")


def linear_reference(x, weight, bias, grad_output=None) -> dict:
    """F.linear in float64: {"output", "grads": {0, 1, 2: gradient}, "allowed": {"output", 0, 1, 2: Tolerance}}.

    Allowances follow the length of each sum: in_features for the output, out_features for the
    gradient of x, the number of rows (all leading dimensions together) for weight and bias.
    """
    dtype = x.dtype
    in_features, out_features = weight.shape[1], weight.shape[0]
    inputs = [t.detach().double().requires_grad_() if t is not None else None for t in (x, weight, bias)]
    output = F.linear(*inputs)
    magnitude = F.linear(*[t.detach().abs() if t is not None else None for t in inputs])
    result = {"output": output.detach(), "grads": {},
              "allowed": {"output": _sum_allowance(magnitude, in_features, dtype)}}
    if grad_output is None:
        return result
    g = grad_output.double()
    grads = backpropagate(output, [t for t in inputs if t is not None], g)
    rows = g.reshape(-1, out_features).abs()
    x_rows = inputs[0].detach().abs().reshape(-1, in_features)
    result["grads"] = {0: grads[0], 1: grads[1]}
    result["allowed"][0] = _sum_allowance(g.abs() @ inputs[1].detach().abs(), out_features, dtype)
    result["allowed"][1] = _sum_allowance(rows.T @ x_rows, rows.shape[0], dtype)
    if bias is not None:
        result["grads"][2] = grads[2]
        result["allowed"][2] = _sum_allowance(rows.sum(0), rows.shape[0], dtype)
    return result


def expect_uniform_init(values: torch.Tensor, bound: float, what: str, bins: int = 4, slack: float = 0.0):
    """`values` must lie in [-bound, bound] (up to float32 rounding) and, with `slack` > 0, fill each of
    `bins` equal parts of that interval with a share of 1/bins +- slack of the values."""
    limit = bound * (1 + 1e-6)
    outside = values.abs() > limit
    assert not outside.any(), (
        f"{what}: {int(outside.sum())} of {values.numel()} values lie outside [-{bound:.6g}, {bound:.6g}] "
        f"(1 / sqrt(in_features)), e.g. {short_number(values[outside][0])}; draw them uniformly from that "
        "interval.")
    if slack <= 0:
        return
    edges = torch.linspace(-bound, bound, bins + 1, dtype=torch.float64)
    counts = torch.histc(values.double().clamp(-bound, bound), bins, -bound, bound)
    shares = counts / values.numel()
    wrong = (shares - 1 / bins).abs() > slack
    assert not wrong.any(), (
        f"{what}: the {values.numel()} values are not spread uniformly over [-{bound:.6g}, {bound:.6g}]: "
        f"the parts between {', '.join(short_number(e) for e in edges.tolist())} hold "
        f"{', '.join(f'{s:.1%}' for s in shares.tolist())} of them, where a uniform draw gives about "
        f"{1 / bins:.0%} each.")
