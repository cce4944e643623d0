"""Checks shared by the public and hidden question tests; their messages are student feedback."""
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
    """Call the student's function and return the `error` it raises; fail with feedback otherwise."""
    try:
        got = function(*args, **kwargs)
    except error as exc:
        return exc
    except StudentError as exc:
        raise AssertionError(f"{call} should raise {error.__name__} ({reason}), but raised "
                             f"{describe_error(exc)}") from None
    raise AssertionError(f"{call} should raise {error.__name__} ({reason}), but returned {got!r}")


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
