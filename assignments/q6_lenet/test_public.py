"""Public tests of question 6 (LeNet, SimpleNN, training, prediction, per-class metrics): small, hand-made cases.

Every expected value here is worked out by hand in the comments; the hidden tests compare with the grader's
own code on many generated cases."""
import math

import pytest
import torch

from .checks import (expect_class_accuracies, expect_confusion_matrix, expect_hand_worked_logits,
                             expect_mean_loss, expect_mode, expect_parameters, expect_predictions,
                             expect_unpadded_stride_one, grader_linear, lenet_shapes, linear_model, loader_for,
                             metrics_call, one_lit_pixel)
from .strategies import LinearTask

# Four classes; class 3 has no example (its accuracy is nan) but is predicted once.
PREDICTIONS = torch.tensor([0, 3, 0, 1, 1, 2, 0, 0, 2])
LABELS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
# Counted by hand, a row per actual class (label), a column per predicted class:
#   class 0, examples 0-2, predicted 0, 3, 0     -> row [2, 0, 0, 1]
#   class 1, examples 3-4, predicted 1, 1        -> row [0, 2, 0, 0]
#   class 2, examples 5-8, predicted 2, 0, 0, 2  -> row [2, 0, 2, 0]
#   class 3, no examples                         -> row [0, 0, 0, 0]
CONFUSION = torch.tensor([[2, 0, 0, 1], [0, 2, 0, 0], [2, 0, 2, 0], [0, 0, 0, 0]])
# Per class, the diagonal (predicted right) out of the row's sum (its examples): 2 of 3, 2 of 2, 2 of 4, and
# 0 of 0 for class 3, which has no accuracy (nan). Dividing by the column sums instead (how often each class
# was predicted) would give 2/4, 2/2, 2/2, 0/1.
CORRECT, EXAMPLES = [2, 2, 2, 0], [3, 2, 4, 0]
ACCURACY = [2 / 3, 2 / 2, 2 / 4, math.nan]


# ---------------------------------------------------------------- the networks

def test_LeNet_has_the_lectures_layers_and_62006_parameters(student):
    call = "LeNet(num_classes=10)"
    info = expect_parameters(student, student.q6_lenet.LeNet(num_classes=10), lenet_shapes(10), call)
    expect_unpadded_stride_one(info, call)


@pytest.mark.points(2)
def test_LeNet_computes_its_layers_on_a_hand_worked_example(student):
    # Two images: the first black but for a 4.0 in the blue channel (2) at row 10, column 20; the second black.
    x = one_lit_pixel(channel=2, row=10, column=20, value=4.0)
    # The weights are zero but for these ({index: value}); what each layer makes of the first image:
    weights = {
        # conv1 -> ReLU -> 2x2 max pool (6 x 14 x 14): channel 0 is 0.5 * blue, so 2.0 at (10, 20), and 2.0 at
        # (5, 10) once pooled; channel 2 is its bias, 1 everywhere; channel 3 its bias -1, which ReLU makes 0
        "conv1.weight": {(0, 2, 0, 0): 0.5}, "conv1.bias": {2: 1.0, 3: -1.0},
        # conv2 -> ReLU -> 2x2 max pool (16 x 5 x 5): channel 0 at (i, j) is pooled channel 0 at (i, j + 4),
        # so 2.0 at (5, 6), then at (2, 3); channel 1 is 25 taps of 0.125 on channel 2 (all 1) plus channel 3
        # (all 0): 3.125 everywhere; channel 2 is its bias -2, which ReLU makes 0
        "conv2.weight": {(0, 0, 0, 4): 1.0, (1, 2): 0.125, (1, 3, 0, 0): 1.0}, "conv2.bias": {2: -2.0},
        # flatten: (channel, row, column) is input channel * 25 + row * 5 + column, so (0, 2, 3) is 13,
        # (1, 4, 4) is 49 and (2, 0, 0) is 50. fc1 -> ReLU: [2.0, ReLU(-3.125) = 0, 2 * 3.125 = 6.25, 3 + 0 = 3]
        "fc1.weight": {(0, 13): 1.0, (1, 49): -1.0, (2, 49): 2.0, (3, 50): 1.0}, "fc1.bias": {3: 3.0},
        # fc2 -> ReLU: [2.0, 0 + 6.25 = 6.25, ReLU(-6.25) = 0, 0.5 * 6.25 = 3.125, 3]
        "fc2.weight": {(0, 0): 1.0, (1, 1): 1.0, (1, 2): 1.0, (2, 2): -1.0, (3, 2): 0.5, (4, 3): 1.0},
        # fc3, no ReLU: [2.0, 6.25, 0, 3.125, 3, its bias -1, 0, 0, 0, 0]
        "fc3.weight": {(0, 0): 1.0, (1, 1): 1.0, (2, 2): 1.0, (3, 3): 1.0, (4, 4): 1.0}, "fc3.bias": {5: -1.0},
    }
    # The black image has no 4.0, so its logit 0 is 0; the rest is the same. Each ReLU shows: without the one
    # after conv1 logits 1 and 3 shrink, after conv2 logit 4, after fc1 logit 1, after fc2 logit 2 turns
    # negative; a ReLU on the logits makes logit 5 zero. Average pooling shrinks logit 0, another flatten
    # order loses it.
    expected = torch.tensor([[2.0, 6.25, 0, 3.125, 3, -1, 0, 0, 0, 0], [0.0, 6.25, 0, 3.125, 3, -1, 0, 0, 0, 0]])
    expect_hand_worked_logits(student, "LeNet", x, weights, expected,
                              "a black image with a 4.0 at blue (10, 20) and a black image")


@pytest.mark.points(2)
def test_SimpleNN_has_1707274_parameters_and_computes_its_layers(student):
    # Two images: the first black but for a 2.0 in the green channel (1) at row 2, column 3; the second black.
    x = one_lit_pixel(channel=1, row=2, column=3, value=2.0)
    # The weights are zero but for these ({index: value}); what each layer makes of the first image:
    weights = {
        # flatten: (channel, row, column) is input channel * 1024 + row * 32 + column, so the 2.0 is input 1091.
        # fc1 -> ReLU: [1.5 * 2.0 = 3.0, ReLU(-2.0) = 0, its bias 0.5]
        "fc1.weight": {(0, 1091): 1.5, (1, 1091): -1.0}, "fc1.bias": {2: 0.5},
        # fc2 -> ReLU: [3.0, 3.0 + 0 = 3.0, ReLU(-2 * 0.5) = 0, 4 * 0.5 = 2.0]
        "fc2.weight": {(0, 0): 1.0, (1, 0): 1.0, (1, 1): 1.0, (2, 2): -2.0, (3, 2): 4.0},
        # fc3, no ReLU: [3.0, 3.0, 0, 2.0, its bias -0.5, 0, 0, 0, 0, 0]
        "fc3.weight": {(0, 0): 1.0, (1, 1): 1.0, (2, 2): 1.0, (3, 3): 1.0}, "fc3.bias": {4: -0.5},
    }
    # The black image has no 2.0, so its logits 0 and 1 are 0; the rest is the same. Without the ReLU after
    # fc1 logit 1 is 3 - 2 = 1, without the one after fc2 logit 2 is -1, with one on the logits logit 4 is 0.
    expected = torch.tensor([[3.0, 3, 0, 2, -0.5, 0, 0, 0, 0, 0], [0.0, 0, 0, 2, -0.5, 0, 0, 0, 0, 0]])
    expect_hand_worked_logits(student, "SimpleNN", x, weights, expected,
                              "a black image with a 2.0 at green (2, 3) and a black image")


# ---------------------------------------------------------------- training and prediction

@pytest.mark.points(2)
def test_train_one_epoch_returns_the_mean_loss_per_example(student, device):
    # Zero weights and the bias [0, ln 2, 0] give every example the logits [0, ln 2, 0], whose softmax is
    # [1/4, 2/4, 1/4]: an example of class 0 or 2 costs -ln(1/4) = ln 4 = 2 ln 2, one of class 1 -ln(2/4) = ln 2.
    # lr = 0 leaves the model as it is. The labels [0, 2, 1, 1, 1] come in batches of 2, 2 and 1, so the mean
    # loss per example is (2 * 2 ln 2 + 3 * ln 2) / 5 = 7/5 ln 2 = 0.9704 (the mean of the three batch means
    # would be (2 ln 2 + ln 2 + ln 2) / 3 = 4/3 ln 2 = 0.9242, the last batch's loss ln 2 = 0.6931).
    inputs = torch.randn(5, 3, generator=torch.Generator().manual_seed(5))
    labels = torch.tensor([0, 2, 1, 1, 1])
    model = grader_linear(student, torch.zeros(3, 3), torch.tensor([0.0, math.log(2), 0.0]), device)
    loader = student.harness.make_loader(inputs, labels, batch_size=2)
    optimizer = student.harness.make_optimizer(model, "SGD", lr=0.0)
    got = student.q6_lenet.train_one_epoch(model, loader, optimizer, student.harness.make_loss("CrossEntropyLoss"),
                                           device)
    call = ("train_one_epoch on a Linear(3, 3) model with zero weights and the bias [0, ln 2, 0], the labels "
            "[0, 2, 1, 1, 1] in batches of 2, 2 and 1, SGD with lr=0.0, nn.CrossEntropyLoss()")
    expect_mean_loss(got, 7 / 5 * math.log(2), call, 0.0)


@pytest.mark.points(2)
def test_train_one_epoch_lowers_the_loss_of_a_separable_task_in_training_mode(student, device):
    generator = torch.Generator().manual_seed(6)
    inputs = torch.randn(16, 4, generator=generator)
    labels = (inputs[:, 0] + inputs[:, 1] > 0).long()            # two classes split by a plane
    model = grader_linear(student, torch.zeros(2, 4), torch.zeros(2), device)
    model.eval()                                                   # as predict leaves it
    loader = student.harness.make_loader(inputs, labels, batch_size=4)
    optimizer = student.harness.make_optimizer(model, "SGD", lr=0.5)
    loss_fn = student.harness.make_loss("CrossEntropyLoss")
    call = "train_one_epoch on a Linear(4, 2) model in eval mode, 16 examples in batches of 4, SGD with lr=0.5"
    losses = [student.q6_lenet.train_one_epoch(model, loader, optimizer, loss_fn, device) for _ in range(5)]
    expect_mode(model, True, call, "call model.train() first: predict switches the model to evaluation mode, "
                                   "and layers such as dropout and batch norm train only in training mode")
    assert all(type(loss) is float for loss in losses), f"{call} should return Python floats, got {losses!r}"
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), (
        f"{call}: five epochs returned the mean losses {[round(loss, 4) for loss in losses]}; on this easy task "
        "each epoch should end lower than the one before. Does every batch zero the gradients, backpropagate "
        "and take an optimizer step?")


@pytest.mark.points(2)
def test_predict_returns_the_argmax_and_the_labels_in_loader_order(student, device):
    # the labels are the example indices 0..9, so that each prediction can be checked against its example
    task = LinearTask(examples=10, batch_size=4, features=3, classes=4, lr=0.0, seed=7, labels_are_indices=True)
    model = linear_model(student, task, device)
    call = "predict with a Linear(3, 4) model and 10 examples in batches of 4"
    expect_predictions(student.q6_lenet.predict(model, loader_for(student, task), device), task, call)
    expect_mode(model, False, call, "call model.eval() before predicting, so that layers such as dropout and "
                                    "batch norm work as they should at test time")


# ---------------------------------------------------------------- metrics

def test_confusion_matrix_of_a_hand_made_example(student):
    call = metrics_call("confusion_matrix", PREDICTIONS, LABELS, 4)
    expect_confusion_matrix(student.q6_lenet.confusion_matrix(PREDICTIONS, LABELS, 4), CONFUSION, call)


def test_per_class_accuracy_of_a_hand_made_example_with_an_empty_class(student):
    call = metrics_call("per_class_accuracy", PREDICTIONS, LABELS, 4)
    expect_class_accuracies(student.q6_lenet.per_class_accuracy(PREDICTIONS, LABELS, 4), ACCURACY, CORRECT, EXAMPLES,
                            call)
