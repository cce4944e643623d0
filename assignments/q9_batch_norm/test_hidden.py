"""Hidden tests of question 9 (batch normalisation): generated inputs checked against F.batch_norm and nn.BatchNorm2d."""
import pytest
import torch
from hypothesis import given, settings
from torch import nn

from .checks import (BATCH_NORM_ARGUMENTS, BATCH_NORM_BANS, batch_norm_call, batch_norm_reference,
                               expect_running_stats, expect_state_dict_like_pytorch, expect_unchanged)
from ..checks import (expect_banned_ops_unused, expect_close, expect_gradients_close, show_tensor,
                                show_tensor_call)
from .strategies import batch_norm_cases, channel_counts, layer_runs

BATCH_NORM_MRO = "torch.nn.modules.batchnorm._NormBase"


def run_batch_norm(student, case):
    """Call the student's batch_norm on the case (bans on) and watch its tensors: (report, reference, call, the
    dtype of x)."""
    x, running_mean, running_var, weight, bias = case.tensors()
    call = batch_norm_call(case, x, running_mean, running_var, weight, bias)
    reference = batch_norm_reference(x, running_mean, running_var, weight, bias, case.training, case.momentum, case.eps)
    report = student.harness.watch_inputs(student.q9_batch_norm.batch_norm.forbidding(*BATCH_NORM_BANS), x,
                                          running_mean, running_var, weight, bias, training=case.training,
                                          momentum=case.momentum, eps=case.eps)
    return report, reference, call, x.dtype


def expect_output_like_F_batch_norm(student, case):
    """The student's batch_norm on the case must give F.batch_norm's output, within its rounding allowance.
    Returns the watch report and the call."""
    report, reference, call, dtype = run_batch_norm(student, case)
    expect_close(report["output"], reference["output"], call, reference["allowed"]["output"], dtype=dtype)
    return report, call


def student_layer(student, run) -> tuple:
    """The student's BatchNorm2d for a LayerRun, and the call as feedback shows it."""
    call = f"BatchNorm2d({run.channels}, eps={run.eps!r}, momentum={run.momentum!r})"
    return student.q9_batch_norm.BatchNorm2d(run.channels, eps=run.eps, momentum=run.momentum), call


# ---------------------------------------------------------------- batch_norm

@pytest.mark.points(2)
@settings(max_examples=30)
@given(case=batch_norm_cases(training=True))
def test_batch_norm_training_output_matches_F_batch_norm(student, case):
    expect_output_like_F_batch_norm(student, case)


@pytest.mark.points(2)
@settings(max_examples=30)
@given(case=batch_norm_cases(training=True))
def test_batch_norm_training_updates_running_stats_in_place_like_F_batch_norm(student, case):
    report, reference, call, dtype = run_batch_norm(student, case)
    expect_running_stats(report["inputs_after"][1], report["inputs_after"][2], reference, call, dtype)


@pytest.mark.points(2)
@settings(max_examples=30)
@given(case=batch_norm_cases(training=False))
def test_batch_norm_eval_uses_running_stats_and_leaves_them_unchanged(student, case):
    report, call = expect_output_like_F_batch_norm(student, case)
    assert not (report["changed"][1] or report["changed"][2]), (
        f"{call} changed the running statistics in evaluation mode (training=False); only training updates them")


@settings(max_examples=20)
@given(case=batch_norm_cases())
def test_batch_norm_leaves_its_input_unchanged(student, case):
    report, _, call, _ = run_batch_norm(student, case)
    expect_unchanged(report, call)


@pytest.mark.points(2)
@settings(max_examples=30)
@given(case=batch_norm_cases())
def test_batch_norm_gradients_for_x_weight_and_bias_match_F_batch_norm(student, case):
    x, running_mean, running_var, weight, bias = case.tensors()
    grad_output = case.grad_output()
    call = batch_norm_call(case, x, running_mean, running_var, weight, bias, grad_output)
    reference = batch_norm_reference(x, running_mean, running_var, weight, bias, case.training, case.momentum,
                                     case.eps, grad_output)
    batch_norm = student.q9_batch_norm.batch_norm.forbidding(*BATCH_NORM_BANS)
    output, grads = batch_norm.gradients(x, running_mean, running_var, weight, bias, training=case.training,
                                         momentum=case.momentum, eps=case.eps, grad_output=grad_output)
    expect_close(output, reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_gradients_close(grads, reference["grads"], reference["allowed"], call, BATCH_NORM_ARGUMENTS, x.dtype)


@settings(max_examples=10)
@given(case=batch_norm_cases())
def test_batch_norm_uses_no_ready_made_normalisation(student, case):
    x, running_mean, running_var, weight, bias = case.tensors()
    expect_banned_ops_unused(student.q9_batch_norm.batch_norm, BATCH_NORM_BANS,
                             batch_norm_call(case, x, running_mean, running_var, weight, bias),
                             x, running_mean, running_var, weight, bias, training=case.training,
                             momentum=case.momentum, eps=case.eps)


# ---------------------------------------------------------------- the BatchNorm2d module

@settings(max_examples=15)
@given(channels=channel_counts())
def test_BatchNorm2d_has_2C_parameters_and_pytorch_buffers(student, channels):
    call = f"BatchNorm2d({channels})"
    layer = student.q9_batch_norm.BatchNorm2d(channels)
    info = student.harness.summary(layer)
    assert BATCH_NORM_MRO not in info["is"], f"{call} subclasses nn.BatchNorm2d; build it from nn.Module instead"
    expected = {"weight": (channels,), "bias": (channels,)}
    assert info["parameters"] == expected, (
        f"{call} has the parameters {info['parameters']} (name: shape), expected {expected}")
    assert info["parameter_count"] == 2 * channels, f"{call} has {info['parameter_count']} parameters, expected {2 * channels}"
    state = layer.state_dict()
    expect_state_dict_like_pytorch(state, channels, call)
    for name, value in nn.BatchNorm2d(channels).state_dict().items():
        assert torch.equal(state[name], value), (
            f"{call}.{name} starts as {show_tensor(state[name])}; nn.BatchNorm2d starts it as "
            f"{show_tensor(value)}")


@pytest.mark.points(2)
@settings(max_examples=20)
@given(run=layer_runs())
def test_BatchNorm2d_matches_nn_BatchNorm2d_over_training_steps_then_eval(student, run):
    layer, call = student_layer(student, run)
    layer = layer.forbidding(*BATCH_NORM_BANS)
    for step, batch in enumerate(run.training_batches, start=1):
        x = run.batch(batch).tensors()[0]
        before_mean, before_var = layer.running_mean, layer.running_var
        reference = batch_norm_reference(x, before_mean, before_var, None, None, True, run.momentum, run.eps)
        where = f"{show_tensor_call(call, x)} in training mode (batch {step})"
        expect_close(layer(x), reference["output"], where, reference["allowed"]["output"], dtype=x.dtype)
        expect_running_stats(layer.running_mean, layer.running_var, reference, where, x.dtype,
                             what="after the batch")
        tracked = layer.num_batches_tracked
        assert tracked.dtype == torch.int64 and int(tracked) == step, (
            f"{where} num_batches_tracked is {show_tensor(tracked)}, expected tensor({step}) (int64)")
    layer.eval()
    x = run.batch(run.eval_batch).tensors()[0]
    before_mean, before_var = layer.running_mean, layer.running_var
    reference = batch_norm_reference(x, before_mean, before_var, None, None, False, run.momentum, run.eps)
    where = f"{show_tensor_call(call, x)} after layer.eval()"
    expect_close(layer(x), reference["output"], where, reference["allowed"]["output"], dtype=x.dtype)
    assert torch.equal(layer.running_mean, before_mean) and torch.equal(layer.running_var, before_var), (
        f"{where} changed the running statistics in evaluation mode")
    assert int(layer.num_batches_tracked) == len(run.training_batches), f"{where} counted an evaluation batch"


@pytest.mark.points(2)
@settings(max_examples=15)
@given(run=layer_runs())
def test_BatchNorm2d_state_dict_loads_into_nn_BatchNorm2d_and_back(student, run):
    layer, call = student_layer(student, run)
    for batch in run.training_batches:
        layer(run.batch(batch).tensors()[0])
    state = layer.state_dict()
    expect_state_dict_like_pytorch(state, run.channels, call)
    torch_layer = nn.BatchNorm2d(run.channels, eps=run.eps, momentum=run.momentum)
    torch_layer.load_state_dict(state)   # the student's trained statistics, in PyTorch's layer
    # PyTorch's layer, trained one more batch with a learned-looking gamma and beta, goes back into the student's
    generator = torch.Generator().manual_seed(run.eval_batch[1])
    with torch.no_grad():
        torch_layer.weight.copy_(torch.randn(run.channels, generator=generator))
        torch_layer.bias.copy_(torch.randn(run.channels, generator=generator))
        torch_layer(run.batch(run.training_batches[0]).tensors()[0])
    trained = {name: value.clone() for name, value in torch_layer.state_dict().items()}
    layer.load_state_dict(trained)
    layer.eval()
    x = run.batch(run.eval_batch).tensors()[0]
    reference = batch_norm_reference(x, trained["running_mean"], trained["running_var"], trained["weight"],
                                     trained["bias"], False, run.momentum, run.eps)
    where = f"{show_tensor_call(call, x)} in eval mode after load_state_dict(a trained nn.BatchNorm2d's state_dict())"
    got = layer.forbidding(*BATCH_NORM_BANS)(x)
    expect_close(got, reference["output"], where, reference["allowed"]["output"], dtype=x.dtype)


@settings(max_examples=15)
@given(run=layer_runs())
def test_BatchNorm2d_gradient_for_x_matches_nn_BatchNorm2d(student, run):
    layer, _ = student_layer(student, run)
    case = run.batch(run.training_batches[0])
    x, grad_output = case.tensors()[0], case.grad_output()
    call = show_tensor_call(f"BatchNorm2d({run.channels}, eps={run.eps!r})", x) + " in training mode"
    reference = batch_norm_reference(x, torch.zeros(run.channels), torch.ones(run.channels), None, None, True,
                                     run.momentum, run.eps, grad_output)
    output, grads = layer.forbidding(*BATCH_NORM_BANS).gradients(x, grad_output=grad_output)
    expect_close(output, reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_gradients_close(grads, {0: reference["grads"][0]}, reference["allowed"], call, BATCH_NORM_ARGUMENTS,
                           x.dtype)
