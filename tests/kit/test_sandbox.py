"""The sandbox: values cross safely, failures become honest errors, the worker restarts."""
import textwrap
import time

import pytest
import torch

from autograder.sandbox import errors
from autograder.course.config import Limits
from autograder.sandbox.proxy import RemoteObject, Student
from autograder.sandbox.supervisor import Sandbox

STUDENT_CODE = textwrap.dedent('''
    import ctypes, os, sys, time
    import numpy as np
    import torch
    import torch.nn.functional as F

    def double(x):
        return x * 2

    def echo(*args, **kwargs):
        return args, kwargs

    def chatty(n):
        print("x" * n)
        print("to stderr", file=sys.stderr)
        return n

    def bad_value():
        raise ValueError("size must be positive")

    def not_implemented():
        raise NotImplementedError("later")

    def numpy_int():
        return np.int64(3)

    def a_module():
        return torch.nn.Linear(2, 3)

    def shape_of(module):
        return tuple(module.weight.shape)

    def conv_with_torch(x, w):
        return F.conv2d(x, w)

    def spin():
        while True:
            pass

    def sleep():
        time.sleep(60)

    def exit_now():
        os._exit(7)

    def sys_exit():
        sys.exit(0)

    def segfault():
        ctypes.string_at(0)

    def hog_memory():
        return torch.empty(1 << 40, dtype=torch.uint8)
''')


def make_sandbox(tmp_path, code=STUDENT_CODE, name="q0_probe", **limits):
    (tmp_path / f"{name}.py").write_text(code)
    return Sandbox({f"{name}.py": tmp_path / f"{name}.py"}, Limits(**{"call_seconds": 5, **limits}), "cpu")


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    sandbox = make_sandbox(tmp_path_factory.mktemp("probe"))
    yield Student(sandbox).q0_probe
    sandbox.close()


def test_plain_values_and_tensors_cross_by_value(probe):
    assert probe.double(21) == 42
    assert probe.echo(1, "a", (2.5, None), key={"k": [1, 2]}) == ((1, "a", (2.5, None)), {"key": {"k": [1, 2]}})
    got = probe.double(torch.arange(6.0).reshape(2, 3))
    assert type(got) is torch.Tensor
    torch.testing.assert_close(got, torch.arange(6.0).reshape(2, 3) * 2)


def test_student_exception_is_also_the_builtin_type(probe):
    with pytest.raises(ValueError, match="size must be positive") as caught:
        probe.bad_value()
    assert isinstance(caught.value, errors.StudentError)
    assert 'q0_probe.py", line' in str(caught.value)


def test_a_stubs_not_implemented_error_never_passes_for_an_expected_runtime_error(probe):
    with pytest.raises(errors.StudentError) as caught:
        probe.not_implemented()
    assert not isinstance(caught.value, RuntimeError)
    assert "raised NotImplementedError: later" in str(caught.value)


def test_unknown_function_names_the_file_and_the_name(probe):
    with pytest.raises(AttributeError, match="q0_probe.py defines no 'no_such_function'"):
        probe.no_such_function()


def test_non_transferable_values_stay_in_the_worker_as_proxies(probe):
    value = probe.numpy_int()
    assert isinstance(value, RemoteObject) and value.remote_type == "numpy.int64"
    assert repr(value) == "np.int64(3)"
    layer = probe.a_module()
    assert layer.remote_type == "torch.nn.modules.linear.Linear"
    assert layer.out_features == 3
    assert probe.shape_of(layer) == (3, 2)


def test_output_is_captured_per_call_and_bounded(tmp_path):
    with make_sandbox(tmp_path, output_kb=1) as sandbox:
        probe = Student(sandbox).q0_probe
        assert probe.chatty(10) == 10
        assert sandbox.last_output == "x" * 10 + "\nto stderr\n"
        probe.chatty(5000)
        assert sandbox.last_output.startswith("x" * 1024)
        assert "more bytes of output were dropped" in sandbox.last_output


def test_forbidden_torch_functions_are_reported_by_name(probe):
    x, w = torch.ones(1, 1, 4, 4), torch.ones(1, 1, 2, 2)
    assert probe.conv_with_torch(x, w).shape == (1, 1, 3, 3)
    with pytest.raises(errors.ForbiddenCall, match=r"used conv2d \(1x\)"):
        probe.conv_with_torch.forbidding("conv2d")(x, w)


@pytest.mark.parametrize("function, error, message", [
    ("spin", errors.CallTimeout, "did not finish within 1 s"),
    ("sleep", errors.CallTimeout, "did not finish within 1 s"),
    ("exit_now", errors.WorkerCrashed, "exit status 7"),
    ("sys_exit", errors.WorkerCrashed, r"end the process \(SystemExit\(0\)\)"),
    ("segfault", errors.WorkerCrashed, "segmentation fault"),
    ("hog_memory", errors.MemoryLimitExceeded, "exceeded the 256 MiB memory limit"),
])
def test_a_failing_call_fails_alone_and_the_worker_restarts(tmp_path, function, error, message):
    with make_sandbox(tmp_path, call_seconds=1, memory_mb=256) as sandbox:
        probe = Student(sandbox).q0_probe
        kept = probe.a_module()
        started = time.monotonic()
        with pytest.raises(error, match=message):
            getattr(probe, function)()
        assert time.monotonic() - started < 10
        assert probe.double(2) == 4
        if sandbox.generation > 1:
            with pytest.raises(errors.StaleObject):
                kept.out_features


def test_missing_file_names_the_expected_file(tmp_path):
    with Sandbox({}, Limits(), "cpu") as sandbox:
        with pytest.raises(errors.MissingFile, match="q8_output_size.py was not found"):
            Student(sandbox).q8_output_size.conv_output_size(8, 3)


def test_import_failure_is_reported_once_and_not_retried(tmp_path):
    with make_sandbox(tmp_path, code="def f(:\n    pass\n") as sandbox:
        with pytest.raises(errors.ImportFailed, match="SyntaxError") as first:
            Student(sandbox).q0_probe.f()
        assert 'q0_probe.py", line 1' in str(first.value)
        with pytest.raises(errors.ImportFailed) as second:
            Student(sandbox).q0_probe.f()
        assert second.value is first.value


def test_import_that_hangs_is_not_retried(tmp_path):
    with make_sandbox(tmp_path, code="while True:\n    pass\n", call_seconds=1) as sandbox:
        with pytest.raises(errors.ImportFailed, match="did not finish within 1 s"):
            Student(sandbox).q0_probe.f()
        started = time.monotonic()
        with pytest.raises(errors.ImportFailed):
            Student(sandbox).q0_probe.f()
        assert time.monotonic() - started < 0.5


def test_the_submission_time_budget_bounds_all_calls(tmp_path):
    with make_sandbox(tmp_path, call_seconds=1, submission_seconds=1.5) as sandbox:
        probe = Student(sandbox).q0_probe
        with pytest.raises(errors.CallTimeout):
            probe.spin()
        with pytest.raises(errors.SubmissionTimeUp, match="used up its 1.5 s"):
            probe.spin()
        with pytest.raises(errors.SubmissionTimeUp, match="was not run"):
            probe.double(1)


def test_harness_builds_layers_next_to_student_code(probe):
    layers = Student(probe._sandbox).harness.build_layers([("Conv2d", {"in_channels": 3, "out_channels": 6,
                                                                        "kernel_size": 5})])
    assert isinstance(layers, list) and layers[0].remote_type == "torch.nn.modules.conv.Conv2d"
    assert probe.shape_of(layers[0]) == (6, 3, 5, 5)


GRADIENT_CODE = textwrap.dedent('''
    import torch

    def scale_and_shift(x, w, b=None):
        return x * w + (0 if b is None else b)

    def detached(x):
        return x.detach() * 2

    def inplace_double(x):
        return x.mul_(2)

    def copy_double(x):
        return x * 2

    class Doubler(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(2.0))

        def forward(self, x):
            return x * self.scale
''')


@pytest.fixture(scope="module")
def grads(tmp_path_factory):
    sandbox = make_sandbox(tmp_path_factory.mktemp("grads"), code=GRADIENT_CODE)
    yield Student(sandbox)
    sandbox.close()


def test_gradients_flow_back_through_student_code(grads):
    x, w, b = torch.randn(2, 3), torch.randn(2, 3), torch.randn(3)
    upstream = torch.randn(2, 3)
    out, got = grads.q0_probe.scale_and_shift.gradients(x, w, b=b, grad_output=upstream)
    torch.testing.assert_close(out, x * w + b)
    torch.testing.assert_close(got[0], upstream * w)
    torch.testing.assert_close(got[1], upstream * x)
    torch.testing.assert_close(got["b"], upstream.sum(0))


def test_a_result_of_the_wrong_shape_is_named_before_backpropagating(grads):
    with pytest.raises(ValueError, match=r"the result has shape \(2, 3\), but it should have shape \(3,\)"):
        grads.q0_probe.scale_and_shift.gradients(torch.ones(2, 3), torch.ones(2, 3), grad_output=torch.ones(3))


def test_an_output_cut_off_from_autograd_is_explained(grads):
    with pytest.raises(RuntimeError, match="not connected to the inputs by autograd"):
        grads.q0_probe.detached.gradients(torch.ones(2), grad_output=torch.ones(2))


def test_watch_inputs_tells_in_place_from_copying(grads):
    x = torch.tensor([1.0, -2.0])
    inplace = grads.harness.watch_inputs(grads.q0_probe.inplace_double, x)
    assert inplace["changed"] == [True] and inplace["returned"] == 0
    torch.testing.assert_close(inplace["inputs_after"][0], x * 2)
    copying = grads.harness.watch_inputs(grads.q0_probe.copy_double, x)
    assert copying["changed"] == [False] and copying["returned"] == -1
    torch.testing.assert_close(copying["output"], x * 2)


def test_summary_describes_a_student_module(grads):
    layer = grads.q0_probe.Doubler()
    info = grads.harness.summary(layer)
    assert info["type"] == "q0_probe.Doubler" and "torch.nn.modules.module.Module" in info["is"]
    assert info["parameters"] == {"scale": ()} and info["parameter_count"] == 1
    with pytest.raises(errors.ForbiddenCall, match=r"used mul \(1x\)"):
        layer.forbidding("mul")(torch.tensor([3.0]))
    out, got = layer.gradients(torch.tensor([3.0]), grad_output=torch.tensor([1.0]))
    torch.testing.assert_close(out, torch.tensor([6.0]))
    torch.testing.assert_close(got[0], torch.tensor([2.0]))
