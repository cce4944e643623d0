"""Checks shared by the public and hidden question tests; their messages are student feedback."""
from dataclasses import dataclass

import torch

from autograder.sandbox.errors import ForbiddenCall, StudentError

LAYER_FUNCTIONS = ("conv2d", "max_pool2d", "avg_pool2d")  # running conv or pooling layers calls these


def backpropagate(output, inputs, grad_output):
    """d(output . grad_output) / d(input) for each input, as torch.autograd.grad(output, inputs, grad_output)
    gives it, bit for bit, without its first-call import of sympy (a second)."""
    return torch.autograd.grad((output * grad_output).sum(), inputs)


def show_call(function, *args, **kwargs):
    """How a call looks in feedback, e.g. conv_output_size(28, 5, padding=2)."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def show_layers(specs):
    """A layer list as the student would write it, e.g. [Conv2d(in_channels=3, ...), ReLU()]."""
    return "[" + ", ".join(show_call(name, **kwargs) for name, kwargs in specs) + "]"


def expect_int(got, expected, call):
    """Fail with student feedback unless `got` is the Python int `expected`."""
    kind = getattr(got, "remote_type", type(got).__name__)
    assert type(got) is int, f"{call} returned {kind} {got!r}; return a Python int (e.g. int(x))"
    assert got == expected, f"{call}: expected {expected}, got {got}"


def describe_error(exc):
    """What the student's code raised: type, message and its own traceback lines."""
    return f"{exc.remote_type}: {exc.message}\n{exc.traceback}".strip()


def expect_error(error, reason, call, function, *args, **kwargs):
    """The one refusal check: function(*args, **kwargs), a call into student code, must raise `error` (a builtin
    exception type; a stub's NotImplementedError never counts as the RuntimeError it derives from) because of
    `reason`. Returns the error raised; fails with feedback naming the call, the reason and what happened."""
    try:
        got = function(*args, **kwargs)
    except StudentError as exc:
        if isinstance(exc, error):
            return exc
        raise AssertionError(f"{call} should raise {error.__name__} ({reason}), but raised "
                             f"{describe_error(exc)}") from None
    raise AssertionError(f"{call} should raise {error.__name__} ({reason}), but returned {show_tensor(got)}")


def expect_flatten_size(student, input_shape, specs, expected):
    """flatten_size on the layers of `specs` (built in the worker) must give `expected` without running them."""
    call = f"flatten_size({input_shape}, {show_layers(specs)})"
    layers = student.harness.build_layers(specs)
    flatten_size = student.q8_output_size.flatten_size.forbidding(*LAYER_FUNCTIONS)
    try:
        got = flatten_size(input_shape, layers)
    except ForbiddenCall:
        raise AssertionError(f"{call} ran the layers (it called torch's {'/'.join(LAYER_FUNCTIONS)}); "
                             "compute the size from the layers' attributes (kernel_size, stride, padding, ...) "
                             "instead.") from None
    except StudentError as exc:
        raise AssertionError(f"{call}: expected {expected} (PyTorch runs these layers on this input), but it "
                             f"raised {describe_error(exc)}") from None
    expect_int(got, expected, call)


TENSOR_SHOWN_VALUES = 12  # tensors with at most this many entries are shown with all their values


def short_number(value: float) -> str:
    text = f"{value:.6g}"
    return text if any(c in text for c in ".ein") else text + ".0"  # keep -0.0 visibly a float


def _nested_values(tensor: torch.Tensor) -> str:
    def nest(item):
        return "[" + ", ".join(nest(i) for i in item) + "]" if isinstance(item, list) else short_number(item)
    return nest(tensor.detach().double().tolist())


def show_tensor(tensor) -> str:
    """A tensor as feedback shows it: its values when small, else shape, dtype and its first values."""
    if not isinstance(tensor, torch.Tensor):
        return repr(tensor)
    dtype = str(tensor.dtype).removeprefix("torch.")
    if tensor.numel() <= TENSOR_SHOWN_VALUES:
        return f"tensor({_nested_values(tensor)}, dtype={dtype})"
    first = ", ".join(short_number(v) for v in tensor.detach().double().flatten()[:4].tolist())
    return f"tensor(shape={tuple(tensor.shape)}, dtype={dtype}, values [{first}, ...])"


def show_tensor_call(function: str, *args, **kwargs) -> str:
    """A call as feedback shows it, tensors by show_tensor, e.g. relu(tensor([-1.0, 2.0], dtype=float32))."""
    parts = [show_tensor(a) for a in args] + [f"{k}={show_tensor(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


# ---------------------------------------------------------------- the one tensor comparison

@dataclass(frozen=True)
class Tolerance:
    """How far each value of a result may be from the expected one: |got - expected| <= atol + rtol * |expected|
    elementwise, where atol is a number or a tensor (broadcast to the result's shape). `name` says in feedback
    where the bound comes from. Build one with exact(), relative() or allowance()."""
    name: str
    atol: float | torch.Tensor = 0.0
    rtol: float = 0.0

    def allowed(self, expected: torch.Tensor) -> torch.Tensor:
        """The elementwise bound in float64 for this float64 expected tensor."""
        bound = (self.atol.detach().cpu().double() if isinstance(self.atol, torch.Tensor)
                 else torch.tensor(float(self.atol), dtype=torch.float64))
        return bound + self.rtol * expected.abs() if self.rtol else bound


def exact() -> Tolerance:
    """Values must be equal (a maximum, a copy, a value worked out by hand)."""
    return Tolerance("exact: the values must be equal")


def relative(rtol: float, atol: float = 0.0) -> Tolerance:
    """Values may differ by atol + rtol * |expected|."""
    return Tolerance(f"tolerance {short_number(atol)} + {short_number(rtol)} * |expected|", atol, rtol)


def allowance(allowed, why: str = "the rounding a correct computation in this dtype may show") -> Tolerance:
    """Values may differ by `allowed`: a number, or an elementwise tensor (a bound on the rounding error that the
    question's checks work out for each value)."""
    return Tolerance(f"allowance: {why}", allowed)


ANY_DTYPE = "any"  # expect_close(..., dtype=ANY_DTYPE): the result's dtype is not graded


def mismatches(got: torch.Tensor, expected: torch.Tensor, tolerance: Tolerance):
    """(wrong positions, |got - expected|, the bound), in float64. Equal values (infinities included, -0.0 and 0.0)
    match; NaN never does."""
    got64, expected64 = got.detach().cpu().double(), expected.detach().cpu().double()
    error = (got64 - expected64).abs()
    bound = tolerance.allowed(expected64).expand_as(error)
    return ~((got64 == expected64) | (error <= bound)), error, bound


def expect_close(got, expected, call, tolerance, what="the output", dtype=None):
    """Fail with student feedback unless `got` is a tensor of expected's shape, of `dtype` (default: expected's;
    ANY_DTYPE: not checked), whose values are within `tolerance` (exact(), relative(), allowance()) of expected's.
    Values are compared in float64."""
    kind = getattr(got, "remote_type", type(got).__name__)
    assert isinstance(got, torch.Tensor), f"{call}: {what} should be a tensor, got {kind} {got!r:.200}"
    assert tuple(got.shape) == tuple(expected.shape), (
        f"{call}: {what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
    dtype = expected.dtype if dtype is None else dtype
    assert dtype == ANY_DTYPE or got.dtype == dtype, (
        f"{call}: {what} has dtype {str(got.dtype).removeprefix('torch.')}, expected "
        f"{str(dtype).removeprefix('torch.')} (the dtype of the input)")
    wrong, error, bound = mismatches(got, expected, tolerance)
    if not wrong.any():
        return
    got64, expected64 = got.detach().cpu().double(), expected.detach().cpu().double()
    first = tuple(wrong.nonzero()[0].tolist())
    worst = tuple(int(i) for i in torch.unravel_index(
        torch.where(wrong, error.nan_to_num(float("inf")), -1.0).argmax(), error.shape))
    message = (f"{call}: {what} is wrong at {int(wrong.sum())} of {wrong.numel()} positions. First at index "
               f"{first}: expected {short_number(expected64[first])}, got {short_number(got64[first])}; "
               f"largest error {short_number(error[worst])} at index {worst}, where {short_number(bound[worst])} "
               f"is allowed ({tolerance.name}).")
    if expected.numel() <= TENSOR_SHOWN_VALUES:
        message += f"\nExpected {_nested_values(expected64)}\ngot      {_nested_values(got64)}"
    raise AssertionError(message)


def expect_gradients_close(grads, expected, tolerances, call, names, dtype):
    """Compare the gradients a student's code gave (by argument key) with the reference ones (of `dtype`), each
    within its Tolerance tolerances[key]."""
    for key, reference in expected.items():
        name = names.get(key, key)
        got = grads.get(key)
        assert got is not None, (f"{call}: the gradient with respect to {name} is missing: autograd finds no "
                                 f"path from your result back to {name} (is {name} used, without .detach()?)")
        expect_close(got, reference, call, tolerances[key], what=f"the gradient with respect to {name}", dtype=dtype)


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
