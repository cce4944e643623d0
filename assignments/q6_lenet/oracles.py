"""q6's oracles, for the hidden tests only (student.zip leaves this file out: these are answers): float64
forward passes of the statement's networks, an exact SGD epoch, and the grader's metrics (autograder/models/accuracy.py)."""
import torch
import torch.nn.functional as F

from autograder.models import accuracy
from .checks import expect_class_accuracies, expect_confusion_matrix, metrics_call


def lenet_reference(state: dict, x: torch.Tensor) -> torch.Tensor:
    """LeNet's logits in float64 from a state_dict."""
    p = {name: value.double() for name, value in state.items()}
    x = F.max_pool2d(F.relu(F.conv2d(x.double(), p["conv1.weight"], p["conv1.bias"])), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, p["conv2.weight"], p["conv2.bias"])), 2)
    x = F.relu(F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    x = F.relu(F.linear(x, p["fc2.weight"], p["fc2.bias"]))
    return F.linear(x, p["fc3.weight"], p["fc3.bias"])


def simple_nn_reference(state: dict, x: torch.Tensor) -> torch.Tensor:
    """SimpleNN's logits in float64 from a state_dict."""
    p = {name: value.double() for name, value in state.items()}
    x = F.relu(F.linear(x.double().flatten(1), p["fc1.weight"], p["fc1.bias"]))
    x = F.relu(F.linear(x, p["fc2.weight"], p["fc2.bias"]))
    return F.linear(x, p["fc3.weight"], p["fc3.bias"])


def sgd_reference(task) -> dict:
    """One epoch of plain SGD on the task in float64: {"loss": mean loss per example, "weight", "bias"}."""
    inputs, labels, weight, bias = task.tensors()
    weight, bias, total = weight.double(), bias.double(), 0.0
    for start in range(0, task.examples, task.batch_size):
        x, y = inputs[start:start + task.batch_size].double(), labels[start:start + task.batch_size]
        weight.requires_grad_()
        bias.requires_grad_()
        loss = F.cross_entropy(F.linear(x, weight, bias), y)
        grad_weight, grad_bias = torch.autograd.grad(loss, (weight, bias))
        total += loss.item() * len(y)
        weight, bias = (weight - task.lr * grad_weight).detach(), (bias - task.lr * grad_bias).detach()
    return {"loss": total / task.examples, "weight": weight, "bias": bias}


def graded_metric(student, function: str, case) -> tuple:
    """The student's `function` (confusion_matrix or per_class_accuracy) on a generated case: (what it returned,
    the grader's own confusion matrix of the case, the call as feedback shows it)."""
    predictions, labels = case.tensors()
    call = metrics_call(function, predictions, labels, case.num_classes)
    got = getattr(student.q6_lenet, function)(predictions, labels, case.num_classes)
    return got, accuracy.confusion_matrix(predictions.numpy(), labels.numpy(), case.num_classes), call


def expect_confusion(student, case):
    """confusion_matrix on the case against the grader's own confusion matrix of the same predictions."""
    got, confusion, call = graded_metric(student, "confusion_matrix", case)
    expect_confusion_matrix(got, torch.from_numpy(confusion), call)


def expect_per_class_accuracy(student, case):
    """per_class_accuracy on the case against the grader's own per-class accuracy of the same predictions."""
    got, confusion, call = graded_metric(student, "per_class_accuracy", case)
    expect_class_accuracies(got, accuracy.per_class_accuracy(confusion).tolist(), confusion.diagonal().tolist(),
                            confusion.sum(axis=1).tolist(), call)
