"""Hidden tests of question 4 (average pooling): generated inputs and windows checked against F.avg_pool2d."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ..checks import expect_close, expect_error
from ..pooling_checks import AVG_POOL_BANNED, avg_pool_tolerance, expect_pool_layer, show_pool_call
from ..pooling_strategies import avg_pool_cases, refused_pool_cases, variant_inputs


def student_avg_pool2d(student):
    return student.q4_avg_pool.avg_pool2d.forbidding(*AVG_POOL_BANNED)


def expect_values_like_torch(student, case):
    """The student's output against F.avg_pool2d computed in float64, within the rounding of x's dtype."""
    x = case.input()
    got = student_avg_pool2d(student)(x, **case.kwargs)
    expected = F.avg_pool2d(x.double(), **case.kwargs)
    expect_close(got, expected, show_pool_call("avg_pool2d", x, **case.kwargs), avg_pool_tolerance(x, x, **case.kwargs),
                 dtype=x.dtype)


@pytest.mark.points(3)
@given(case=avg_pool_cases())
def test_avg_pool2d_matches_torch_on_generated_inputs(student, case):
    expect_values_like_torch(student, case)


@pytest.mark.points(2)
@given(case=avg_pool_cases(count_include_pad=False))
def test_avg_pool2d_without_counting_the_padding_matches_torch(student, case):
    expect_values_like_torch(student, case)


@pytest.mark.points(2)
@given(case=avg_pool_cases(ceil_mode=True))
def test_avg_pool2d_ceil_mode_matches_torch(student, case):
    expect_values_like_torch(student, case)


@pytest.mark.points(2)
@given(case=avg_pool_cases())
def test_avg_pool2d_gradients_match_torch(student, case):
    x = case.input()
    leaf = x.detach().double().requires_grad_()
    expected = F.avg_pool2d(leaf, **case.kwargs)
    g = case.grad_output(expected.shape)
    expected.backward(g.double())
    call = show_pool_call("avg_pool2d", x, **case.kwargs)
    got, grads = student_avg_pool2d(student).gradients(x, grad_output=g, **case.kwargs)
    expect_close(got, expected.detach(), call, avg_pool_tolerance(x, x, **case.kwargs), dtype=x.dtype)
    expect_close(grads[0], leaf.grad, call + ", backpropagating whole numbers from -3 to 3",
                 avg_pool_tolerance(g, x, **case.kwargs), dtype=x.dtype, what="the gradient with respect to x")


# (height, kernel, stride, padding) where rounding up alone would add a last window that starts past
# the input and its padding; PyTorch drops it
LAST_WINDOW_CASES = [(5, 2, 2, 1), (4, 1, 2, 0), (6, 2, 3, 0), (7, 2, 2, 1), (5, 3, 3, 1), (6, 3, 4, 1)]


def test_avg_pool2d_ceil_mode_drops_windows_starting_past_the_input(student):
    generator = torch.Generator().manual_seed(11)
    for height, kernel, stride, padding in LAST_WINDOW_CASES:
        for count_include_pad in (True, False):
            x = torch.randn(1, 2, height, 3, generator=generator, dtype=torch.float64)
            kwargs = dict(kernel_size=(kernel, 1), stride=(stride, 1), padding=(padding, 0), ceil_mode=True,
                          count_include_pad=count_include_pad)
            got = student_avg_pool2d(student)(x, **kwargs)
            expect_close(got, F.avg_pool2d(x, **kwargs), show_pool_call("avg_pool2d", x, **kwargs)
                         + " (a last window must start inside the input or its top padding)",
                         avg_pool_tolerance(x, x, **kwargs))


@given(case=refused_pool_cases(dilated=False))
def test_avg_pool2d_rejects_what_torch_refuses(student, case):
    x = case.input()
    with pytest.raises(RuntimeError) as refused:
        F.avg_pool2d(x, **case.kwargs)
    expect_error(RuntimeError, f"F.avg_pool2d refuses it: {str(refused.value).splitlines()[0]}",
                 show_pool_call("avg_pool2d", x, **case.kwargs), student.q4_avg_pool.avg_pool2d, x, **case.kwargs)


SLIDE_LAYERS = {"square": nn.AvgPool2d(3, stride=2), "rect": nn.AvgPool2d((3, 2), stride=(2, 1))}


@given(name=st.sampled_from(sorted(SLIDE_LAYERS)), x=variant_inputs())
def test_pool_variants_compute_the_slide_layers_on_any_input(student, name, x):
    variants = student.q4_avg_pool.pool_variants()
    assert isinstance(variants, dict) and name in variants, (
        f"pool_variants() should return a dict with keys {sorted(SLIDE_LAYERS)}, got {variants!r:.200}")
    expect_pool_layer(student, variants[name], SLIDE_LAYERS[name], name, [x])
