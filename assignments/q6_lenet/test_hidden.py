"""Hidden tests of question 6 (LeNet, SimpleNN, training, prediction, per-class metrics) on generated cases."""
import pytest
import torch
from hypothesis import given

from .checks import (LENET_LAYERS, SIMPLE_NN_LAYERS, describe_task, expect_logits,
                             expect_mean_loss, expect_mode, expect_parameters, expect_predictions,
                             expect_unpadded_stride_one, lenet_shapes, linear_model, loader_for, model_state,
                             simple_nn_shapes, train_student, training_tolerance)
from ..checks import expect_close
from .oracles import (expect_confusion, expect_per_class_accuracy, lenet_reference, sgd_reference,
                              simple_nn_reference)
from .strategies import (ImageBatch, LinearTask, class_counts, classified_examples, image_batches,
                                 prediction_tasks, training_tasks)


# ---------------------------------------------------------------- the networks

@pytest.mark.points(2)
@given(num_classes=class_counts())
def test_LeNet_parameters_for_any_number_of_classes(student, num_classes):
    call = f"LeNet(num_classes={num_classes})"
    info = expect_parameters(student, student.q6_lenet.LeNet(num_classes=num_classes), lenet_shapes(num_classes),
                             call)
    expect_unpadded_stride_one(info, call)


@pytest.mark.points(3)
@given(batch=image_batches())
def test_LeNet_logits_for_any_batch_and_number_of_classes(student, batch: ImageBatch):
    call = f"LeNet(num_classes={batch.num_classes})"
    expect_logits(student.q6_lenet.LeNet(num_classes=batch.num_classes), batch.images(),
                  lenet_shapes(batch.num_classes), lenet_reference, LENET_LAYERS, call)


@pytest.mark.points(3)
@given(batch=image_batches())
def test_SimpleNN_parameters_and_logits_for_any_batch_and_number_of_classes(student, batch: ImageBatch):
    call = f"SimpleNN(num_classes={batch.num_classes})"
    model = student.q6_lenet.SimpleNN(num_classes=batch.num_classes)
    expect_parameters(student, model, simple_nn_shapes(batch.num_classes), call)
    expect_logits(model, batch.images(), simple_nn_shapes(batch.num_classes), simple_nn_reference, SIMPLE_NN_LAYERS,
                  call)


# ---------------------------------------------------------------- train_one_epoch

@pytest.mark.points(3)
@given(task=training_tasks())
def test_train_one_epoch_returns_the_mean_loss_per_example(student, device, task: LinearTask):
    got, _ = train_student(student, task, device)
    expect_mean_loss(got, sgd_reference(task)["loss"], f"train_one_epoch on {describe_task(task)}", task.lr)


@pytest.mark.points(3)
@given(task=training_tasks())
def test_train_one_epoch_takes_one_optimizer_step_per_batch(student, device, task: LinearTask):
    call = f"train_one_epoch on {describe_task(task)}"
    _, model = train_student(student, task, device)
    state, expected = model_state(model, "the model"), sgd_reference(task)
    what = ("the model's {} after the epoch (expected: for each batch in turn, zero the gradients, compute the "
            "loss, backpropagate, take one SGD step)")
    for name in ("weight", "bias"):
        reference = expected[name]
        expect_close(state[name], reference, call, training_tolerance(reference), what=what.format(name),
                     dtype=torch.float32)


def test_train_one_epoch_switches_a_model_in_eval_mode_back_to_training_mode(student, device):
    task = LinearTask(examples=6, batch_size=4, features=3, classes=2, lr=0.1, seed=11)
    model = linear_model(student, task, device)
    model.eval()
    student.q6_lenet.train_one_epoch(model, loader_for(student, task), student.harness.make_optimizer(model, lr=0.1),
                                     student.harness.make_loss(), device)
    expect_mode(model, True, f"train_one_epoch on {describe_task(task)}, starting in eval mode,",
                "call model.train() at the start of every epoch")


# ---------------------------------------------------------------- predict

@pytest.mark.points(3)
@given(task=prediction_tasks())
def test_predict_keeps_each_prediction_next_to_its_label(student, device, task: LinearTask):
    # the labels are the example indices, so each returned label says which example a prediction is for
    model = linear_model(student, task, device)
    order = "shuffled" if task.shuffle else "in order"
    call = (f"predict with a Linear({task.features}, {task.classes}) model and {task.examples} examples in "
            f"batches of {task.batch_size}, {order}")
    expect_predictions(student.q6_lenet.predict(model, loader_for(student, task), device), task, call)


def test_predict_puts_the_model_in_eval_mode(student, device):
    task = LinearTask(examples=5, batch_size=2, features=3, classes=3, lr=0.0, seed=12, labels_are_indices=True)
    model = linear_model(student, task, device)
    model.train()
    student.q6_lenet.predict(model, loader_for(student, task), device)
    expect_mode(model, False, f"predict on {task.examples} examples", "call model.eval() before predicting")


# ---------------------------------------------------------------- metrics

@pytest.mark.points(3)
@given(case=classified_examples())
def test_confusion_matrix_counts_actual_by_predicted_class(student, case):
    expect_confusion(student, case)


@pytest.mark.points(3)
@given(case=classified_examples())
def test_per_class_accuracy_is_the_share_of_each_class_predicted_correctly(student, case):
    expect_per_class_accuracy(student, case)
