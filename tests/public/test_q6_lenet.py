"""Public tests of question 6 (LeNet, SimpleNN, training, prediction, per-class metrics): small, hand-made cases."""
import pytest
import torch

from checks_q6_lenet import (LENET_LAYERS, SIMPLE_NN_LAYERS, describe_task, expect_confusion, expect_logits,
                             expect_mean_loss, expect_mode, expect_parameters, expect_per_class_accuracy,
                             expect_predictions, expect_unpadded_stride_one, grader_linear, lenet_reference,
                             lenet_shapes, linear_model, loader_for, metrics_call, sgd_reference, simple_nn_reference,
                             simple_nn_shapes, train_student)
from strategies_q6_lenet import ImageBatch, LinearTask

# Four classes; class 3 has no example (its accuracy is NaN) but is predicted once.
PREDICTIONS = torch.tensor([0, 3, 0, 1, 1, 2, 0, 0, 2])
LABELS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])


# ---------------------------------------------------------------- the networks

def test_LeNet_has_the_lectures_layers_and_62006_parameters(student):
    call = "LeNet(num_classes=10)"
    info = expect_parameters(student, student.q6_lenet.LeNet(num_classes=10), lenet_shapes(10), call)
    expect_unpadded_stride_one(info, call)


@pytest.mark.points(2)
def test_LeNet_turns_4_images_into_10_logits(student):
    expect_logits(student.q6_lenet.LeNet(), ImageBatch(4, 10, seed=1).images(), lenet_shapes(10), lenet_reference,
                  LENET_LAYERS, "LeNet()")


@pytest.mark.points(2)
def test_SimpleNN_has_1707274_parameters_and_computes_its_layers(student):
    model = student.q6_lenet.SimpleNN()
    expect_parameters(student, model, simple_nn_shapes(10), "SimpleNN()")
    expect_logits(model, ImageBatch(4, 10, seed=2).images(), simple_nn_shapes(10), simple_nn_reference,
                  SIMPLE_NN_LAYERS, "SimpleNN()")


# ---------------------------------------------------------------- training and prediction

@pytest.mark.points(2)
def test_train_one_epoch_returns_the_mean_loss_per_example(student, device):
    # lr = 0 leaves the model as it is, so every batch loss comes from the same weights; the last batch
    # holds 2 examples, the others 4
    task = LinearTask(examples=10, batch_size=4, features=3, classes=3, lr=0.0, seed=5)
    got, _ = train_student(student, task, device)
    expect_mean_loss(got, sgd_reference(task)["loss"], f"train_one_epoch on {describe_task(task)}", task.lr)


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
    # rows (actual): class 0 -> predicted [0, 3, 0]; class 1 -> [1, 1]; class 2 -> [2, 0, 0, 2]; class 3 -> none
    call = metrics_call("confusion_matrix", PREDICTIONS, LABELS, 4)
    expect_confusion(student.q6_lenet.confusion_matrix(PREDICTIONS, LABELS, 4), PREDICTIONS, LABELS, 4, call)


def test_per_class_accuracy_of_a_hand_made_example_with_an_empty_class(student):
    # expected [2/3, 2/2, 2/4, nan]: class 3 has no example
    call = metrics_call("per_class_accuracy", PREDICTIONS, LABELS, 4)
    expect_per_class_accuracy(student.q6_lenet.per_class_accuracy(PREDICTIONS, LABELS, 4), PREDICTIONS, LABELS, 4,
                              call)
