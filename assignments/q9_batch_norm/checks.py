"""Checks for q9 (batch normalisation): float64 references with rounding allowances, and student feedback."""
import torch
import torch.nn.functional as F

from ..checks import allowance, backpropagate, expect_close, show_tensor, show_tensor_call

# Ready-made normalisations, by the __name__ the worker's ban sees (F.batch_norm, torch.batch_norm and the
# nn.BatchNorm modules all report "batch_norm"; torch.ops overloads drop their ".default").
BATCH_NORM_BANS = ("batch_norm", "native_batch_norm", "_native_batch_norm_legit",
                   "_native_batch_norm_legit_no_training", "_batch_norm_impl_index", "_batch_norm_with_update",
                   "_batch_norm_no_update", "batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats",
                   "cudnn_batch_norm", "miopen_batch_norm", "instance_norm", "layer_norm", "native_layer_norm",
                   "group_norm", "native_group_norm", "rms_norm")
BATCH_NORM_ARGUMENTS = {0: "x", 3: "weight", 4: "bias"}
MARGIN = 4   # times the worst-case rounding of each step


def channel_view(t: torch.Tensor, ndim: int) -> torch.Tensor:
    """A (C,) tensor shaped to broadcast along dimension 1 of an `ndim`-dimensional input."""
    return t.reshape([1, -1] + [1] * (ndim - 2))


def channel_max(t: torch.Tensor) -> torch.Tensor:
    """The largest |value| of each channel (dimension 1), shape (C,)."""
    return t.abs().transpose(0, 1).reshape(t.shape[1], -1).amax(dim=1)


def channel_sum(t: torch.Tensor) -> torch.Tensor:
    return t.abs().transpose(0, 1).reshape(t.shape[1], -1).sum(dim=1)


def batch_norm_reference(x, running_mean, running_var, weight, bias, training, momentum, eps,
                         grad_output=None) -> dict:
    """F.batch_norm in float64, and what any sound computation in x's dtype may differ from it by.

    Returns {"output", "running_mean", "running_var", "grads": {0: x, 3: weight, 4: bias},
    "allowed": {"output", "running_mean", "running_var", 0, 3, 4: Tolerance}}. Per channel, with m values, the
    largest |x| A, s = sqrt(variance used + eps) and u the dtype's eps: the batch mean may be off by
    about m u A and the variance by m u A^2 (also with sums of squares), so the normalised values by
    m u (A / s + |xhat| A^2 / s^2); the gradients add the error of two more channel sums.
    """
    u, tiny = torch.finfo(x.dtype).eps, torch.finfo(x.dtype).tiny
    ndim, channels = x.dim(), x.shape[1]
    m = x.numel() // channels
    x64 = x.detach().double().requires_grad_()
    rm, rv = running_mean.detach().double().clone(), running_var.detach().double().clone()
    w64 = weight.detach().double().requires_grad_() if weight is not None else None
    b64 = bias.detach().double().requires_grad_() if bias is not None else None
    output = F.batch_norm(x64, rm, rv, w64, b64, training=training, momentum=momentum, eps=eps)
    dims = [0] + list(range(2, ndim))
    if training:
        mean, var = x64.detach().mean(dim=dims), x64.detach().var(dim=dims, correction=0)
    else:
        mean, var = running_mean.detach().double(), running_var.detach().double()
    s = torch.sqrt(var + eps)
    gamma = w64.detach().abs() if w64 is not None else torch.ones(channels, dtype=torch.float64)
    beta = b64.detach().abs() if b64 is not None else torch.zeros(channels, dtype=torch.float64)
    xhat = (x64.detach() - channel_view(mean, ndim)) / channel_view(s, ndim)
    sums = MARGIN * (m + 2) * u      # the error of a channel sum, relative to its terms
    steps = MARGIN * 4 * u           # a few roundings
    if training:
        big = channel_max(x64.detach())
        ratio = big / s
        xhat_error = channel_view(sums * ratio, ndim) + xhat.abs() * channel_view(sums * ratio ** 2, ndim)
        new_mean_error = steps * running_mean.detach().double().abs() + momentum * sums * big
        new_var_error = (steps * running_var.detach().double().abs()
                         + momentum * m / (m - 1) * sums * big ** 2)
    else:
        ratio = (channel_max(x64.detach()) + mean.abs()) / s
        xhat_error = channel_view(steps * ratio, ndim) + steps * xhat.abs()
        new_mean_error, new_var_error = torch.zeros(channels), torch.zeros(channels)
    allowed_output = (channel_view(gamma, ndim) * xhat_error
                      + steps * (channel_view(gamma, ndim) * xhat.abs() + channel_view(beta, ndim)) + tiny)
    result = {"output": output.detach(), "running_mean": rm, "running_var": rv, "grads": {},
              "allowed": {"output": allowed_output, "running_mean": new_mean_error + tiny,
                          "running_var": new_var_error + tiny}}
    if grad_output is None:
        return with_tolerances(result, x.dtype)
    g = grad_output.double()
    inputs = [t for t in (x64, w64, b64) if t is not None]
    keys = [key for key, t in ((0, x64), (3, w64), (4, b64)) if t is not None]
    grads = dict(zip(keys, backpropagate(output, inputs, g)))
    big_g, total_g = channel_max(g), channel_sum(g)
    largest_xhat = channel_max(xhat)
    worst_xhat_error = channel_max(xhat_error)
    if training:
        grad_x_error = (channel_view(gamma / s * big_g, ndim)
                        * (channel_view(sums * (1 + largest_xhat) ** 2 * (1 + ratio ** 2), ndim)
                           + 2 * channel_view(1 + largest_xhat, ndim) * channel_view(worst_xhat_error, ndim)))
    else:
        grad_x_error = steps * channel_view(gamma / s, ndim) * g.abs()
    result["grads"] = grads
    result["allowed"][0] = grad_x_error + tiny
    result["allowed"][3] = total_g * (sums * largest_xhat + worst_xhat_error) + tiny
    result["allowed"][4] = sums * total_g + tiny
    return with_tolerances(result, x.dtype)


def with_tolerances(result: dict, dtype: torch.dtype) -> dict:
    """The reference with its elementwise allowances turned into the tolerances the comparison takes."""
    why = f"the rounding of channel sums and a few more steps in {str(dtype).removeprefix('torch.')}"
    result["allowed"] = {key: allowance(bound, why) for key, bound in result["allowed"].items()}
    return result


def batch_norm_call(case, x, running_mean, running_var, weight, bias, grad_output=None) -> str:
    """How feedback shows a batch_norm call."""
    call = show_tensor_call("batch_norm", x, running_mean, running_var, weight=weight, bias=bias)
    call = call[:-1] + f", training={case.training}, momentum={case.momentum!r}, eps={case.eps!r})"
    return call if grad_output is None else call + f", backpropagating {show_tensor(grad_output)}"


def expect_running_stats(after_mean, after_var, reference, call, dtype, what="after the call"):
    """The running statistics after a call must be the reference's (the caller's tensors, changed in place)."""
    for name, got in (("running_mean", after_mean), ("running_var", after_var)):
        expect_close(got, reference[name], call, reference["allowed"][name], dtype=dtype,
                     what=f"{name} {what} (updated in place in training mode only)")


def expect_unchanged(report, call):
    """A harness.watch_inputs report: x (argument 0) must be left as it was and not returned."""
    assert not report["changed"][0], (
        f"{call} changed its input x: afterwards x was {show_tensor(report['inputs_after'][0])}. "
        "Compute the result in new tensors and leave x as it was.")
    assert report["returned"] != 0, f"{call} returned x itself; return a new tensor."


def expect_state_dict_like_pytorch(state, num_features, call):
    """A state_dict fetched from the worker must have nn.BatchNorm2d's keys, shapes and dtypes."""
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()), (
        f"{call}.state_dict() should be a dict of tensors, got {state!r}")
    expected = {"weight": ((num_features,), torch.float32), "bias": ((num_features,), torch.float32),
                "running_mean": ((num_features,), torch.float32), "running_var": ((num_features,), torch.float32),
                "num_batches_tracked": ((), torch.int64)}
    got = {name: (tuple(t.shape), t.dtype) for name, t in state.items()}
    assert got == expected, (
        f"{call}.state_dict() holds {got} (name: (shape, dtype)); nn.BatchNorm2d({num_features}) holds {expected}. "
        "Register weight and bias as nn.Parameter and the other three with self.register_buffer, with these names.")
