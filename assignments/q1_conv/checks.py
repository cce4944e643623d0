"""Checks for q1 (convolution): the float64 reference with its rounding allowances, and conv2d calls for feedback."""
import torch
import torch.nn.functional as F

from autograder.sandbox.errors import ForbiddenCall, StudentError
from ..checks import Tolerance, allowance, backpropagate, describe_error, expect_close, show_call

# torch functions that compute a convolution (their __name__ as the worker's ban sees it)
CONV_FUNCTIONS = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                  "convolution", "convolution.default", "conv2d.default", "_convolution", "convolution_backward",
                  "convolution_backward.default", "conv_tbc", "mkldnn_convolution", "cudnn_convolution",
                  "miopen_convolution", "_conv_depthwise2d", "slow_conv_dilated2d", "thnn_conv2d",
                  "_slow_conv2d_forward", "conv2d_input", "conv2d_weight")
SHOWN_VALUES = 12  # tensors with at most this many elements are shown with their values

# the slides' Question 1 layers, as the grader builds them: nn.Conv2d(16, 33, **VARIANTS[name])
VARIANTS = {
    "square": dict(kernel_size=3, stride=2),
    "rect_padded": dict(kernel_size=(3, 5), stride=(2, 1), padding=(4, 2)),
    "dilated": dict(kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
}


def _number(value: float, digits: int = 6) -> str:
    return f"{value:.{digits}g}"


def _values(tensor: torch.Tensor, digits: int = 6) -> str:
    """A small tensor's values as nested lists of short numbers."""
    def nest(item):
        return "[" + ", ".join(nest(i) for i in item) + "]" if isinstance(item, list) else _number(item, digits)
    return nest(tensor.detach().double().tolist())


def describe_tensor(tensor) -> str:
    """A tensor as feedback shows it: dtype and shape, and its values when it is small."""
    if not isinstance(tensor, torch.Tensor):
        return repr(tensor)
    text = f"{str(tensor.dtype).removeprefix('torch.')} tensor of shape {tuple(tensor.shape)}"
    if 0 < tensor.numel() <= SHOWN_VALUES:
        text += f" {_values(tensor, digits=4)}"
    return text


def student_conv2d(student):
    """The student's conv2d with torch's convolutions banned."""
    return student.q1_conv.conv2d.forbidding(*CONV_FUNCTIONS)


def show_conv_call(x, weight, bias=None, **hyper) -> str:
    """A conv2d call as feedback shows it, e.g. conv2d(x=float32 tensor of shape (1, 2, 5, 5), ..., stride=2)."""
    parts = [f"x={describe_tensor(x)}", f"weight={describe_tensor(weight)}", f"bias={describe_tensor(bias)}"]
    parts += [f"{name}={value!r}" for name, value in hyper.items()]
    return f"conv2d({', '.join(parts)})"


def _allowance(bound: torch.Tensor, terms: int, dtype: torch.dtype) -> Tolerance:
    """Rounding error any correct implementation stays within: a sum of `terms` products whose absolute
    values add up to `bound`, computed in `dtype` in any order (with an 8x margin)."""
    return allowance(4 * (terms + 2) * torch.finfo(dtype).eps * bound,
                     f"the rounding of sums of {terms} products in {str(dtype).removeprefix('torch.')}")


def conv2d_reference(x, weight, bias, hyper, grad_output=None) -> dict:
    """F.conv2d in float64 on the same inputs, with the rounding each result may show.

    Returns {"output", "output_allowed"} and, with grad_output, {"grads": {0: x, 1: weight, 2: bias},
    "grads_allowed": {...}} (the allowed ones are Tolerances); bias entries only when bias is not None.
    """
    tensors = [t.detach().double().requires_grad_() for t in (x, weight) + ((bias,) if bias is not None else ())]
    absolute = [t.detach().abs().requires_grad_() for t in tensors]
    output = F.conv2d(*tensors[:2], tensors[2] if bias is not None else None, **hyper)
    bound = F.conv2d(*absolute[:2], absolute[2] if bias is not None else None, **hyper)
    out_channels, in_channels, kernel_h, kernel_w = weight.shape
    result = {"output": output.detach(),
              "output_allowed": _allowance(bound.detach(), in_channels * kernel_h * kernel_w + 1, x.dtype)}
    if grad_output is not None:
        grads = backpropagate(output, tensors, grad_output.double())
        bounds = backpropagate(bound, absolute, grad_output.double().abs())
        positions = output.shape[0] * output.shape[2] * output.shape[3]
        terms = [out_channels * kernel_h * kernel_w, positions, positions]
        result["grads"] = dict(enumerate(grads))
        result["grads_allowed"] = {i: _allowance(b, terms[i], x.dtype) for i, b in enumerate(bounds)}
    return result


def conv2d_output_shape(x, weight, **hyper) -> tuple:
    """The shape of F.conv2d's output for these arguments, from torch itself (no formula here: that is q8's
    answer) on one image of zeros (the meta device would import sympy, a second, on its first use)."""
    one = F.conv2d(x.new_zeros((1, *x.shape[1:])), weight.new_zeros(weight.shape), **hyper)
    return (x.shape[0], *one.shape[1:])


def expect_conv2d_output(student, x, weight, bias=None, **hyper):
    """The student's conv2d (convolution functions banned) must give F.conv2d's output."""
    call = show_conv_call(x, weight, bias, **hyper)
    reference = conv2d_reference(x, weight, bias, hyper)
    try:
        got = student_conv2d(student)(x, weight, bias, **hyper)
    except StudentError as exc:
        raise AssertionError(f"{call}: expected an output of shape {tuple(reference['output'].shape)} "
                             f"(F.conv2d accepts these arguments), but it raised {describe_error(exc)}") from None
    expect_close(got, reference["output"], call, reference["output_allowed"], dtype=x.dtype)


GRADIENT_NAMES = {0: "x", 1: "weight", 2: "bias"}


def expect_conv2d_gradients(student, x, weight, bias, grad_output, **hyper):
    """Backpropagating grad_output through the student's conv2d must give F.conv2d's gradients."""
    expect_conv2d_output(student, x, weight, bias, **hyper)  # a wrong output shape would break backward
    call = show_conv_call(x, weight, bias, **hyper)
    reference = conv2d_reference(x, weight, bias, hyper, grad_output)
    conv2d = student_conv2d(student)
    try:
        _, grads = conv2d.gradients(x, weight, bias, grad_output=grad_output, **hyper)
    except StudentError as exc:
        raise AssertionError(f"{call}, then backpropagating a gradient of shape {tuple(grad_output.shape)}: "
                             f"it raised {describe_error(exc)}") from None
    for position, expected in reference["grads"].items():
        name = GRADIENT_NAMES[position]
        got = grads.get(position)
        assert got is not None, (
            f"{call}: no gradient reaches {name}: your output does not depend on {name} through autograd "
            "(use it in tensor operations; avoid .detach(), .item(), .numpy() and tensors built from numbers)")
        expect_close(got, expected, call, reference["grads_allowed"][position],
                     what=f"the gradient with respect to {name}", dtype=x.dtype)


def expect_variant_output_shapes(student, shape, expected: dict) -> tuple:
    """The student's variant_output_shapes(shape) must give `expected` without running a convolution.
    Returns what it gave and the call as feedback shows it."""
    call = show_call("variant_output_shapes", shape)
    try:
        got = student.q1_conv.variant_output_shapes.forbidding(*CONV_FUNCTIONS)(shape)
    except ForbiddenCall:
        raise AssertionError(f"{call} ran a convolution; compute the shapes with the output-size formula "
                             "instead.") from None
    assert got == expected, f"{call}: expected {expected}, got {got!r}"
    return got, call
