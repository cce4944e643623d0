"""Hidden tests of question 4 (average pooling): generated inputs and windows checked against F.avg_pool2d."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from ..checks import expect_close
from ..pooling_checks import AVG_POOLING, SLIDE_WINDOWS, avg_pool_tolerance
from ..pooling_strategies import avg_pool_cases, refused_pool_cases, variant_inputs


@pytest.mark.points(3)
@given(case=avg_pool_cases())
def test_avg_pool2d_matches_torch_on_generated_inputs(student, case):
    AVG_POOLING.expect_case_like_torch(student, case)


@pytest.mark.points(2)
@given(case=avg_pool_cases(count_include_pad=False))
def test_avg_pool2d_without_counting_the_padding_matches_torch(student, case):
    AVG_POOLING.expect_case_like_torch(student, case)


@pytest.mark.points(2)
@given(case=avg_pool_cases(ceil_mode=True))
def test_avg_pool2d_ceil_mode_matches_torch(student, case):
    AVG_POOLING.expect_case_like_torch(student, case)


@pytest.mark.points(2)
@given(case=avg_pool_cases())
def test_avg_pool2d_gradients_match_torch(student, case):
    AVG_POOLING.expect_gradients_like_torch(student, case)


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
            got = AVG_POOLING.student_function(student)(x, **kwargs)
            expect_close(got, F.avg_pool2d(x, **kwargs), AVG_POOLING.show_call(x, **kwargs)
                         + " (a last window must start inside the input or its top padding)",
                         avg_pool_tolerance(x, x, **kwargs))


@given(case=refused_pool_cases(dilated=False))
def test_avg_pool2d_rejects_what_torch_refuses(student, case):
    AVG_POOLING.expect_refused_like_torch(student, case)


@given(name=st.sampled_from(sorted(SLIDE_WINDOWS)), x=variant_inputs())
def test_pool_variants_compute_the_slide_layers_on_any_input(student, name, x):
    AVG_POOLING.expect_pool_variant_on(student, name, x)
