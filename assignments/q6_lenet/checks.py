"""Checks for q6 (LeNet, SimpleNN, training, prediction, per-class metrics): comparisons and feedback.

The expected values come from the tests: worked out by hand in the public ones, from the oracles in
tests/oracles_q6_lenet.py (which student.zip leaves out) in the hidden ones."""
import math

import torch
import torch.nn.functional as F

from autograder.models.data import CLASSES
from ..checks import Tolerance, allowance, expect_close, show_tensor

# Logits are compared with a float64 forward pass of the same weights, within torch.testing's float32
# defaults (atol 1e-5, rtol 1.3e-6): correct float32 code stays about 100 times closer than that here.
LOGITS_ATOL, LOGITS_RTOL = 1e-5, 1.3e-6
# Losses and weights after up to 23 float32 SGD steps drift about 1e-6 from the float64 reference; a
# missed or doubled step, or a loss weighted the wrong way, moves them by lr * gradient, some 1e-2.
TRAINING_TOLERANCE = 1e-4
# Shares of at most 60 examples are exact to float32 rounding (6e-8).
SHARE_TOLERANCE = 1e-6
# Logits this close to the largest one may win the argmax in float32 (a tie for the grader).
ARGMAX_TIE = 1e-5



def logits_tolerance(expected: torch.Tensor) -> Tolerance:
    """LOGITS_ATOL + LOGITS_RTOL * |expected| for each logit (computed in expected's dtype)."""
    return allowance(LOGITS_ATOL + LOGITS_RTOL * expected.abs(),
                     f"{LOGITS_ATOL:g} + {LOGITS_RTOL:g} * |expected|, torch.testing's float32 defaults")


def training_tolerance(expected: torch.Tensor) -> Tolerance:
    """TRAINING_TOLERANCE * (1 + |expected|) for each value after training."""
    return allowance(TRAINING_TOLERANCE * (1 + expected.abs()), f"{TRAINING_TOLERANCE:g} * (1 + |expected|)")


LENET_LAYERS = ("conv1 -> ReLU -> 2x2 max pool -> conv2 -> ReLU -> 2x2 max pool -> flatten -> fc1 -> ReLU -> "
                "fc2 -> ReLU -> fc3")
SIMPLE_NN_LAYERS = "flatten -> fc1 -> ReLU -> fc2 -> ReLU -> fc3"


# ---------------------------------------------------------------- the networks

def lenet_shapes(num_classes: int) -> dict:
    """Parameter name -> shape of the statement's LeNet."""
    return {"conv1.weight": (6, 3, 5, 5), "conv1.bias": (6,), "conv2.weight": (16, 6, 5, 5), "conv2.bias": (16,),
            "fc1.weight": (120, 400), "fc1.bias": (120,), "fc2.weight": (84, 120), "fc2.bias": (84,),
            "fc3.weight": (num_classes, 84), "fc3.bias": (num_classes,)}


def simple_nn_shapes(num_classes: int) -> dict:
    """Parameter name -> shape of the statement's SimpleNN."""
    return {"fc1.weight": (512, 3072), "fc1.bias": (512,), "fc2.weight": (256, 512), "fc2.bias": (256,),
            "fc3.weight": (num_classes, 256), "fc3.bias": (num_classes,)}


def parameter_count(shapes: dict) -> int:
    return sum(math.prod(shape) for shape in shapes.values())


def expect_parameters(student, model, expected: dict, call: str) -> dict:
    """The model's parameters (name: shape) and their count must be the statement's; returns its summary."""
    info = student.harness.summary(model)
    got = info["parameters"]
    if got != expected:
        problems = [f"{name} is missing" for name in expected if name not in got]
        problems += [f"{name} {got[name]} is not in the statement" for name in got if name not in expected]
        problems += [f"{name} has shape {got[name]}, expected {shape}"
                     for name, shape in expected.items() if name in got and got[name] != shape]
        raise AssertionError(f"{call}: its parameters differ from the statement's: {'; '.join(problems)}.\n"
                             f"Expected (name: shape) {expected}.\nThe attribute names (conv1, ..., fc3) are "
                             "the keys of the checkpoint, so keep them.")
    count = parameter_count(expected)
    assert info["parameter_count"] == count, f"{call} has {info['parameter_count']} parameters, expected {count}"
    return info


def expect_unpadded_stride_one(info: dict, call: str, names=("conv1", "conv2")):
    """The convolutions must keep PyTorch's defaults: stride 1, no padding, no dilation."""
    for name in names:
        hyper = info["children"].get(name, {}).get("hyper", {})
        for key, default in (("stride", (1, 1)), ("padding", (0, 0)), ("dilation", (1, 1))):
            if key in hyper:
                assert hyper[key] == default, (
                    f"{call}.{name} has {key}={hyper[key]}; the statement's layer keeps the default {default}")


def model_state(model, call: str) -> dict:
    """The model's state_dict, fetched from the worker (tensors by value, on the CPU)."""
    state = model.state_dict()
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()), (
        f"{call}.state_dict() should be a dict of tensors, got {state!r}")
    return {name: value.detach().cpu() for name, value in state.items()}


def expect_logits(model, x: torch.Tensor, expected_shapes: dict, reference, layers: str, call: str):
    """model(x) must be the float32 logits of `layers` computed with the model's own weights."""
    got = model(x)
    state = model_state(model, call)
    missing = [name for name in expected_shapes if name not in state]
    assert not missing, (f"{call}: its state_dict has no {', '.join(missing)}; name the layers as in the "
                         f"statement (it has {', '.join(state) or 'no entries'})")
    expected = reference(state, x)
    what = f"the output (expected: the logits of {layers}, with your model's own weights)"
    expect_close(got, expected, f"{call} on {show_tensor(x)}", logits_tolerance(expected), what=what,
                 dtype=torch.float32)


def hand_made_state(shapes: dict, values: dict) -> dict:
    """A state_dict of zeros of these shapes but for `values`, e.g. {"fc1.bias": {3: 3.0}, "conv2.weight":
    {(1, 2): 0.125}} (an index of fewer dimensions fills the whole slice)."""
    state = {name: torch.zeros(shape) for name, shape in shapes.items()}
    for name, entries in values.items():
        for index, value in entries.items():
            state[name][index] = value
    return state


def one_lit_pixel(channel: int, row: int, column: int, value: float) -> torch.Tensor:
    """Two (3, 32, 32) images: the first black but for `value` at (channel, row, column), the second black."""
    x = torch.zeros(2, 3, 32, 32)
    x[0, channel, row, column] = value
    return x


HAND_WORKED = {"LeNet": (lenet_shapes(10), LENET_LAYERS), "SimpleNN": (simple_nn_shapes(10), SIMPLE_NN_LAYERS)}


def expect_hand_worked_logits(student, network: str, x: torch.Tensor, weights: dict, expected: torch.Tensor,
                              images: str):
    """The student's `network`() ("LeNet" or "SimpleNN", 10 classes) must have the statement's parameters and,
    with them zero but for `weights` (see hand_made_state), give on x (`images` says what it holds) the logits
    of its layers that the test worked out by hand."""
    shapes, layers = HAND_WORKED[network]
    model = getattr(student.q6_lenet, network)()
    expect_parameters(student, model, shapes, f"{network}()")
    model.load_state_dict(hand_made_state(shapes, weights))
    got = model(x)
    what = f"the output (expected: the logits of {layers}, worked out by hand for the weights this test loads)"
    expect_close(got, expected, f"{network}() with this test's weights, on {images}", logits_tolerance(expected),
                 what=what, dtype=torch.float32)


# ---------------------------------------------------------------- training and prediction (small Linear models)

def grader_linear(student, weight: torch.Tensor, bias: torch.Tensor, device):
    """A torch nn.Linear in the worker with these weight (classes, features) and bias, on `device`.

    Not student code: a small model of the grader's, so that these tests do not depend on LeNet.
    """
    classes, features = weight.shape
    model = student.harness.build_layers([("Linear", {"in_features": features, "out_features": classes})])[0]
    model.load_state_dict({"weight": weight, "bias": bias})
    model.to(device)
    return model


def linear_model(student, task, device):
    """grader_linear with the task's weights."""
    _, _, weight, bias = task.tensors()
    return grader_linear(student, weight, bias, device)


def loader_for(student, task):
    inputs, labels, _, _ = task.tensors()
    return student.harness.make_loader(inputs, labels, batch_size=task.batch_size, shuffle=task.shuffle,
                                       seed=task.seed)


def describe_task(task) -> str:
    sizes = [min(task.batch_size, task.examples - start) for start in range(0, task.examples, task.batch_size)]
    return (f"a Linear({task.features}, {task.classes}) model, {task.examples} examples in batches of "
            f"{sizes}, SGD with lr={task.lr}, nn.CrossEntropyLoss()")


def train_student(student, task, device):
    """Run the student's train_one_epoch on the task; returns (returned value, model)."""
    model = linear_model(student, task, device)
    optimizer = student.harness.make_optimizer(model, "SGD", lr=task.lr)
    loss_fn = student.harness.make_loss("CrossEntropyLoss")
    return student.q6_lenet.train_one_epoch(model, loader_for(student, task), optimizer, loss_fn, device), model


def expect_mean_loss(got, expected: float, call: str, lr: float):
    kind = getattr(got, "remote_type", type(got).__name__)
    assert type(got) is float, f"{call} returned {kind} {got!r}; return the mean loss as a Python float"
    steps = " With lr > 0, each batch's loss also depends on the optimizer steps before it." if lr > 0 else ""
    assert abs(got - expected) <= TRAINING_TOLERANCE * max(1.0, abs(expected)), (
        f"{call} returned {got:.6g}; the mean loss per example over the epoch is {expected:.6g} (each batch's "
        f"loss times its size, added up, divided by the number of examples).{steps}")


def expect_predictions(got, task, call: str):
    """predict's (predictions, labels) for a task whose labels are the example indices."""
    inputs, _, weight, bias = task.tensors()
    assert isinstance(got, (tuple, list)) and len(got) == 2, (
        f"{call} should return a pair (predictions, labels), got {show_tensor(got)}")
    predictions, labels = got
    n = task.examples
    for name, value in (("predictions", predictions), ("labels", labels)):
        assert isinstance(value, torch.Tensor), f"{call}: {name} should be a tensor, got {show_tensor(value)}"
        assert value.shape == (n,) and value.dtype == torch.int64 and value.device.type == "cpu", (
            f"{call}: {name} should be a 1-D int64 tensor of length {n} (one entry per example) on the CPU, got "
            f"shape {tuple(value.shape)}, dtype {str(value.dtype).removeprefix('torch.')}, device {value.device}")
    if task.shuffle:
        assert sorted(labels.tolist()) == list(range(n)), (
            f"{call}: the labels should hold every example's label once (the labels are 0..{n - 1} here), "
            f"got {labels.tolist()}")
    else:
        assert labels.tolist() == list(range(n)), (
            f"{call}: the labels should come in the loader's order, {list(range(n))} here, got {labels.tolist()}")
    logits = F.linear(inputs.double(), weight.double(), bias.double())
    for position, (example, prediction) in enumerate(zip(labels.tolist(), predictions.tolist())):
        row = logits[example]
        ties = (row >= row.max() - ARGMAX_TIE).nonzero().flatten().tolist()
        assert prediction in ties, (
            f"{call}: predictions[{position}] is {prediction}, but example {example} (label {example}) has the "
            f"logits {show_tensor(row.float())}: the largest is at index {ties[0]}. Predict the index of the "
            "largest logit of each example (argmax over the classes, dim=1), kept next to its label.")


def expect_mode(model, training: bool, call: str, hint: str):
    mode = model.training
    assert mode is training, (f"{call} left the model in {'training' if mode else 'evaluation'} mode "
                              f"(model.training is {mode}); {hint}")


# ---------------------------------------------------------------- metrics

def class_name(index: int, num_classes: int) -> str:
    return f"class {index} ({CLASSES[index]})" if num_classes == len(CLASSES) else f"class {index}"


def metrics_call(function: str, predictions, labels, num_classes: int) -> str:
    return f"{function}(predictions={predictions.tolist()}, labels={labels.tolist()}, num_classes={num_classes})"


def expect_confusion_matrix(got, expected: torch.Tensor, call: str):
    """confusion_matrix's result against the expected (C, C) int64 counts, rows actual, columns predicted."""
    num_classes = len(expected)
    assert isinstance(got, torch.Tensor), f"{call} should return a tensor, got {show_tensor(got)}"
    assert tuple(got.shape) == (num_classes, num_classes) and got.dtype == torch.int64, (
        f"{call} should return an int64 tensor of shape {(num_classes, num_classes)}, got shape "
        f"{tuple(got.shape)} and dtype {str(got.dtype).removeprefix('torch.')}")
    if torch.equal(got, expected):
        return
    row, column = (got != expected).nonzero()[0].tolist()
    message = (f"{call}: entry [{row}, {column}] should count the examples of actual {class_name(row, num_classes)} "
               f"predicted as {class_name(column, num_classes)}: {int(expected[row, column])}, got "
               f"{int(got[row, column])}.\nExpected {expected.tolist()}\ngot      {got.tolist()}")
    if torch.equal(got, expected.T):
        message += "\nYours is the transpose: rows are the actual classes (labels), columns the predicted ones."
    raise AssertionError(message)


def expect_class_accuracies(got, expected: list[float], correct: list[int], examples: list[int], call: str):
    """per_class_accuracy's result against the expected shares (nan for a class without examples); class c
    has examples[c] examples, correct[c] of them predicted right (what the messages explain)."""
    num_classes = len(expected)
    assert isinstance(got, torch.Tensor), f"{call} should return a tensor, got {show_tensor(got)}"
    assert tuple(got.shape) == (num_classes,) and got.is_floating_point(), (
        f"{call} should return a float tensor of shape ({num_classes},), got shape {tuple(got.shape)} and dtype "
        f"{str(got.dtype).removeprefix('torch.')}")
    got = got.double()
    for index, want in enumerate(expected):
        name, have = class_name(index, num_classes), got[index].item()
        if math.isnan(want):
            assert math.isnan(have), (f"{call}: {name} has no examples in labels, so its accuracy is undefined: "
                                      f"expected nan, got {have:.6g}.\nExpected {expected}\ngot      "
                                      f"{got.tolist()}")
            continue
        hint = " Give shares from 0 to 1, not percentages." if have > 1 else ""
        assert abs(have - want) <= SHARE_TOLERANCE, (
            f"{call}: {name} has {examples[index]} examples, {correct[index]} of them predicted correctly, so its "
            f"accuracy is {correct[index]}/{examples[index]} = {want:.6g}; got {have:.6g}.{hint}\nExpected "
            f"{expected}\ngot      {got.tolist()}")
