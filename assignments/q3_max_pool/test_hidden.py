"""Hidden tests of question 3 (max pooling): generated inputs and windows checked against F.max_pool2d."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from ..checks import exact, expect_close
from ..pooling_checks import MAX_POOLING, SLIDE_WINDOWS
from ..pooling_strategies import PoolCase, max_pool_cases, refused_pool_cases, variant_inputs


@pytest.mark.points(4)
@given(case=max_pool_cases())
def test_max_pool2d_matches_torch_on_generated_inputs(student, case):
    MAX_POOLING.expect_case_like_torch(student, case)


@pytest.mark.points(2)
@given(case=max_pool_cases(ceil_mode=True))
def test_max_pool2d_ceil_mode_matches_torch(student, case):
    MAX_POOLING.expect_case_like_torch(student, case)


@pytest.mark.points(3)
@given(case=max_pool_cases(values=("distinct",)))
def test_max_pool2d_gradients_match_torch(student, case):
    # the gradient values are sums of whole numbers: exact in any correct implementation
    MAX_POOLING.expect_gradients_like_torch(student, case, " (all values different)")


# (height, kernel, stride, padding, dilation) where rounding up alone would add a last window that
# starts past the input and its padding; PyTorch drops it
LAST_WINDOW_CASES = [(5, 2, 2, 1, 1), (4, 1, 2, 0, 1), (6, 2, 3, 0, 1), (7, 2, 2, 1, 1), (5, 3, 3, 1, 1),
                     (6, 2, 4, 1, 2)]


def test_max_pool2d_ceil_mode_drops_windows_starting_past_the_input(student):
    generator = torch.Generator().manual_seed(11)
    for height, kernel, stride, padding, dilation in LAST_WINDOW_CASES:
        x = torch.randn(1, 2, height, 3, generator=generator)
        kwargs = dict(kernel_size=(kernel, 1), stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1),
                      ceil_mode=True)
        got = MAX_POOLING.student_function(student)(x, **kwargs)
        expect_close(got, F.max_pool2d(x, **kwargs), MAX_POOLING.show_call(x, **kwargs)
                     + " (a last window must start inside the input or its top padding)", exact())


def padding_past_half_the_kernel(axis: int) -> PoolCase:
    """A 3-wide window on one axis padded by 2: more than half the kernel, but not more than all of it."""
    kernel, padding = [2, 2], [0, 0]
    kernel[axis], padding[axis] = 3, 2
    return PoolCase(shape=(1, 1, 6, 6), dtype=torch.float32, values="normal", seed=5, transposed=False,
                    kwargs=dict(kernel_size=tuple(kernel), stride=(2, 2), padding=tuple(padding), dilation=(1, 1)))


@given(case=refused_pool_cases(dilated=True))
@example(case=padding_past_half_the_kernel(0))
@example(case=padding_past_half_the_kernel(1))
def test_max_pool2d_rejects_what_torch_refuses(student, case):
    MAX_POOLING.expect_refused_like_torch(student, case)


@given(name=st.sampled_from(sorted(SLIDE_WINDOWS)), x=variant_inputs())
def test_pool_variants_compute_the_slide_layers_on_any_input(student, name, x):
    MAX_POOLING.expect_pool_variant_on(student, name, x)
