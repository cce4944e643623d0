"""Checks for q2 (ReLU) and q5 (fully connected layers): tensor comparisons and references, with student feedback."""
import torch
import torch.nn.functional as F

from autograder.sandbox.errors import ForbiddenCall
from checks import backpropagate

# Ready-made rectifiers and clamps, by the __name__ the worker's ban sees (F.threshold reports "_threshold").
RECTIFIER_BANS = ("relu", "relu_", "threshold", "threshold_", "_threshold", "hardtanh", "hardtanh_", "clamp",
                  "clamp_", "clamp_min", "clamp_min_", "clip", "clip_", "leaky_relu", "leaky_relu_", "prelu",
                  "rrelu", "rrelu_", "elu", "elu_")
# F.linear and nn.Linear both report "linear".
LINEAR_BANS = ("linear", "addmm", "addmm_", "bilinear")
LINEAR_ARGUMENTS = {0: "x", 1: "weight", 2: "bias"}
TENSOR_SHOWN_VALUES = 12  # tensors with at most this many entries are shown with all their values


def _short_number(value: float) -> str:
    text = f"{value:.6g}"
    return text if any(c in text for c in ".ein") else text + ".0"  # keep -0.0 visibly a float


def _nested_values(tensor: torch.Tensor) -> str:
    def nest(item):
        return "[" + ", ".join(nest(i) for i in item) + "]" if isinstance(item, list) else _short_number(item)
    return nest(tensor.detach().double().tolist())


def show_tensor(tensor) -> str:
    """A tensor as feedback shows it: its values when small, else shape, dtype and its first values."""
    if not isinstance(tensor, torch.Tensor):
        return repr(tensor)
    dtype = str(tensor.dtype).removeprefix("torch.")
    if tensor.numel() <= TENSOR_SHOWN_VALUES:
        return f"tensor({_nested_values(tensor)}, dtype={dtype})"
    first = ", ".join(_short_number(v) for v in tensor.detach().double().flatten()[:4].tolist())
    return f"tensor(shape={tuple(tensor.shape)}, dtype={dtype}, values [{first}, ...])"


def show_tensor_call(function: str, *args, **kwargs) -> str:
    """A call as feedback shows it, tensors by show_tensor, e.g. relu(tensor([-1.0, 2.0], dtype=float32))."""
    parts = [show_tensor(a) for a in args] + [f"{k}={show_tensor(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def expect_tensor_close(got, expected, call, allowed, what="the result", dtype=None):
    """Fail with student feedback unless `got` is a tensor of expected's shape, of `dtype` (default:
    expected's), whose values differ from expected's by at most `allowed` (a number or an elementwise
    tensor). Values are compared in float64; -0.0 and 0.0 count as equal, NaN as wrong."""
    dtype = expected.dtype if dtype is None else dtype
    kind = getattr(got, "remote_type", type(got).__name__)
    assert isinstance(got, torch.Tensor), f"{call}: {what} should be a tensor, got {kind} {got!r}"
    assert tuple(got.shape) == tuple(expected.shape), (
        f"{call}: {what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
    assert got.dtype == dtype, (f"{call}: {what} has dtype {str(got.dtype).removeprefix('torch.')}, expected "
                                f"{str(dtype).removeprefix('torch.')} (the dtype of the input)")
    got64, expected64 = got.detach().double(), expected.detach().double()
    error = (got64 - expected64).abs()
    wrong = ~(error <= torch.as_tensor(allowed, dtype=torch.float64))  # NaN counts as wrong
    if not wrong.any():
        return
    first = tuple(wrong.nonzero()[0].tolist())
    message = (f"{call}: {what} is wrong at {int(wrong.sum())} of {wrong.numel()} positions. First at index "
               f"{first}: expected {_short_number(expected64[first])}, got {_short_number(got64[first])}; "
               f"largest error {_short_number(error.nan_to_num(float('inf')).max())}.")
    if expected.numel() <= TENSOR_SHOWN_VALUES:
        message += f"\nExpected {_nested_values(expected64)}\ngot      {_nested_values(got64)}"
    raise AssertionError(message)


def expect_gradients_close(grads, expected, allowed, call, names, dtype):
    """Compare the gradients a student's code gave (by argument key) with the reference ones (of `dtype`)."""
    for key, reference in expected.items():
        name = names.get(key, key)
        got = grads.get(key)
        assert got is not None, (f"{call}: the gradient with respect to {name} is missing: autograd finds no "
                                 f"path from your result back to {name} (is {name} used, without .detach()?)")
        expect_tensor_close(got, reference, call, allowed[key], what=f"the gradient with respect to {name}",
                            dtype=dtype)


def expect_unchanged_input(report, x, call):
    """A harness.watch_inputs report for a call on x: x must be left unchanged and not returned."""
    assert not report["changed"][0], (
        f"{call} changed its input x: afterwards x was {show_tensor(report['inputs_after'][0])}. "
        "Compute the result in a new tensor and leave x as it was.")
    assert report["returned"] != 0, f"{call} returned x itself; return a new tensor."


def expect_banned_ops_unused(function, banned, call, *args, **kwargs):
    """Call the student's function with `banned` torch functions forbidden; fail naming any it used."""
    try:
        function.forbidding(*banned)(*args, **kwargs)
    except ForbiddenCall as exc:
        raise AssertionError(f"{exc}\nBanned here: {', '.join(banned)}.") from None


# ---------------------------------------------------------------- references (computed in the grader)

def activation_allowance(reference_input: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Elementwise error any correct implementation of an activation in `dtype` stays within:
    a few roundings of numbers no larger than |reference_input| (x for values, grad_output for gradients)."""
    info = torch.finfo(dtype)
    return 4 * info.eps * reference_input.detach().double().abs() + info.tiny


def activation_reference(function, x: torch.Tensor, grad_output=None, **kwargs):
    """torch's own activation `function` on x in float64: (values, gradient of values . grad_output)."""
    x64 = x.detach().double().requires_grad_()
    values = function(x64, **kwargs)
    if grad_output is None:
        return values.detach(), None
    return values.detach(), backpropagate(values, [x64], grad_output.double())[0]


def _sum_allowance(bound: torch.Tensor, terms: int, dtype: torch.dtype) -> torch.Tensor:
    """Rounding error of a sum of `terms` products whose absolute values add up to `bound`, computed in
    `dtype` in any order, compared with a float64 reference (a 4x margin over the worst case)."""
    return 4 * (terms + 2) * torch.finfo(dtype).eps * bound + torch.finfo(dtype).tiny


def linear_reference(x, weight, bias, grad_output=None) -> dict:
    """F.linear in float64: {"output", "grads": {0, 1, 2: gradient}, "allowed": {"output", 0, 1, 2: allowance}}.

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
        f"(1 / sqrt(in_features)), e.g. {_short_number(values[outside][0])}; draw them uniformly from that "
        "interval.")
    if slack <= 0:
        return
    edges = torch.linspace(-bound, bound, bins + 1, dtype=torch.float64)
    counts = torch.histc(values.double().clamp(-bound, bound), bins, -bound, bound)
    shares = counts / values.numel()
    wrong = (shares - 1 / bins).abs() > slack
    assert not wrong.any(), (
        f"{what}: the {values.numel()} values are not spread uniformly over [-{bound:.6g}, {bound:.6g}]: "
        f"the parts between {', '.join(_short_number(e) for e in edges.tolist())} hold "
        f"{', '.join(f'{s:.1%}' for s in shares.tolist())} of them, where a uniform draw gives about "
        f"{1 / bins:.0%} each.")
