"""Public tests of question 9 (batch normalisation): a hand-made batch, running statistics, gradients, bans, the slides' layers."""
import torch
from hypothesis import given
from torch import nn

from .checks import (BATCH_NORM_ARGUMENTS, BATCH_NORM_BANS, batch_norm_call, batch_norm_reference,
                               expect_running_stats, expect_state_dict_like_pytorch, expect_unchanged)
from ..checks import (expect_banned_ops_unused, expect_close, expect_gradients_close, show_tensor,
                                show_tensor_call)
from .strategies import BatchNormCase, batch_norm_cases

# 4 samples of 2 features: means 2.5 and 25, biased variances 1.25 and 125, unbiased 5/3 and 500/3
X = torch.tensor([[1., 10.], [2., 20.], [3., 30.], [4., 40.]])
SLIDES_CHANNELS = (32, 128, 256)   # the BatchNorm2d layers of the lecture's CIFAR-10 CNN


def hand_made(training, weight=None, bias=None, running_mean=(0., 0.), running_var=(1., 1.)):
    return BatchNormCase(tuple(X.shape), torch.float32, 0, training=training), (
        X, torch.tensor(running_mean), torch.tensor(running_var), weight, bias)


def expect_batch_norm(student, case, tensors):
    """Run batch_norm (bans on) and compare output and running statistics with F.batch_norm's."""
    x, running_mean, running_var, weight, bias = tensors
    call = batch_norm_call(case, x, running_mean, running_var, weight, bias)
    reference = batch_norm_reference(x, running_mean, running_var, weight, bias, case.training, case.momentum, case.eps)
    report = student.harness.watch_inputs(student.q9_batch_norm.batch_norm.forbidding(*BATCH_NORM_BANS), x,
                                          running_mean, running_var, weight, bias, training=case.training,
                                          momentum=case.momentum, eps=case.eps)
    expect_close(report["output"], reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_running_stats(report["inputs_after"][1], report["inputs_after"][2], reference, call, x.dtype)
    expect_unchanged(report, call)
    return report


# ---------------------------------------------------------------- batch_norm

def test_batch_norm_training_normalises_each_feature_with_its_batch_mean_and_biased_variance(student):
    expect_batch_norm(student, *hand_made(True))                   # (x - 2.5) / sqrt(1.25 + 1e-5), ...
    expect_batch_norm(student, *hand_made(True, torch.tensor([2., 0.5]), torch.tensor([0., 1.])))   # scale, shift


def test_batch_norm_training_updates_running_stats_with_momentum_0_1_and_unbiased_variance(student):
    # running_mean: 0.9 * 0 + 0.1 * 2.5 = 0.25 and 2.5; running_var: 0.9 * 1 + 0.1 * 5/3 = 1.0667 and 17.5667
    report = expect_batch_norm(student, *hand_made(True))
    got = report["inputs_after"][1].tolist(), report["inputs_after"][2].tolist()
    assert torch.allclose(torch.tensor(got[0]), torch.tensor([0.25, 2.5])), got
    assert torch.allclose(torch.tensor(got[1]), torch.tensor([1 + 0.1 * (5 / 3 - 1), 0.9 + 0.1 * 500 / 3])), got


def test_batch_norm_eval_mode_uses_the_running_stats_and_keeps_them(student):
    report = expect_batch_norm(student, *hand_made(False, running_mean=(0.25, 2.5), running_var=(1.0667, 17.5667)))
    assert not (report["changed"][1] or report["changed"][2]), "batch_norm changed the running statistics in eval mode"


def test_batch_norm_normalises_4d_input_over_N_H_W_per_channel(student):
    # two channels of very different means and spreads, 2 images of 3 x 3 pixels
    expect_batch_norm(student, BatchNormCase((2, 2, 3, 3), torch.float64, 7, training=True),
                      BatchNormCase((2, 2, 3, 3), torch.float64, 7).tensors())


def test_batch_norm_gradients_for_x_weight_and_bias(student):
    case = BatchNormCase((3, 2, 2, 2), torch.float64, 11, training=True)
    x, running_mean, running_var, weight, bias = case.tensors()
    grad_output = case.grad_output()
    call = batch_norm_call(case, x, running_mean, running_var, weight, bias, grad_output)
    reference = batch_norm_reference(x, running_mean, running_var, weight, bias, True, case.momentum, case.eps,
                                     grad_output)
    batch_norm = student.q9_batch_norm.batch_norm.forbidding(*BATCH_NORM_BANS)
    output, grads = batch_norm.gradients(x, running_mean, running_var, weight, bias, training=True,
                                         grad_output=grad_output)
    expect_close(output, reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_gradients_close(grads, reference["grads"], reference["allowed"], call, BATCH_NORM_ARGUMENTS, x.dtype)


def test_batch_norm_uses_no_ready_made_normalisation(student):
    for training in (True, False):
        case, (x, running_mean, running_var, weight, bias) = hand_made(training)
        expect_banned_ops_unused(student.q9_batch_norm.batch_norm, BATCH_NORM_BANS,
                                 batch_norm_call(case, x, running_mean, running_var, weight, bias),
                                 x, running_mean, running_var, weight, bias, training=training)


@given(case=batch_norm_cases())
def test_batch_norm_matches_F_batch_norm_on_a_few_generated_batches(student, case):
    expect_batch_norm(student, case, case.tensors())


# ---------------------------------------------------------------- BatchNorm2d

def test_BatchNorm2d_of_the_slides_have_2C_parameters_and_pytorchs_state_dict(student):
    total = 0
    for channels in SLIDES_CHANNELS:
        layer = student.q9_batch_norm.BatchNorm2d(channels)
        info = student.harness.summary(layer)
        assert info["parameters"] == {"weight": (channels,), "bias": (channels,)}, (
            f"BatchNorm2d({channels}) has the parameters {info['parameters']} (name: shape); expected weight and "
            f"bias of shape ({channels},) as nn.Parameter")
        expect_state_dict_like_pytorch(layer.state_dict(), channels, f"BatchNorm2d({channels})")
        total += info["parameter_count"]
    assert total == 832, f"the slides' BatchNorm2d(32), (128) and (256) have {total} parameters, expected 64 + 256 + 512 = 832"


def test_BatchNorm2d_trains_one_batch_then_evaluates_with_running_stats(student):
    layer = student.q9_batch_norm.BatchNorm2d(2)
    state = layer.state_dict()
    for name, value in nn.BatchNorm2d(2).state_dict().items():
        assert torch.equal(state[name], value), f"BatchNorm2d(2).{name} starts as {show_tensor(state[name])}, expected {show_tensor(value)}"
    x = BatchNormCase((2, 2, 2, 3), torch.float32, 3).tensors()[0]
    reference = batch_norm_reference(x, torch.zeros(2), torch.ones(2), None, None, True, 0.1, 1e-5)
    call = show_tensor_call("BatchNorm2d(2)", x) + " in training mode"
    layer = layer.forbidding(*BATCH_NORM_BANS)
    expect_close(layer(x), reference["output"], call, reference["allowed"]["output"], dtype=x.dtype)
    expect_running_stats(layer.running_mean, layer.running_var, reference, call, x.dtype, what="after one batch")
    assert int(layer.num_batches_tracked) == 1, f"{call} num_batches_tracked is {show_tensor(layer.num_batches_tracked)}, expected 1"
    layer.eval()
    evaluated = batch_norm_reference(x, layer.running_mean, layer.running_var, None, None, False, 0.1, 1e-5)
    call = show_tensor_call("BatchNorm2d(2)", x) + " after one training batch and layer.eval()"
    expect_close(layer(x), evaluated["output"], call, evaluated["allowed"]["output"], dtype=x.dtype)


def test_BatchNorm2d_is_built_from_nn_Module_not_nn_BatchNorm2d(student):
    info = student.harness.summary(student.q9_batch_norm.BatchNorm2d(4))
    assert "torch.nn.modules.module.Module" in info["is"], f"BatchNorm2d(4) should be a torch.nn.Module; it is {info['is']}"
    assert "torch.nn.modules.batchnorm._NormBase" not in info["is"], (
        "BatchNorm2d(4) subclasses torch.nn.BatchNorm2d; build it from torch.nn.Module and your own parameters")
