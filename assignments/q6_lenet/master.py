"""Question 6: LeNet on CIFAR-10, compared class by class with a fully connected network.

CIFAR-10 holds 32x32 colour images of ten classes, numbered 0 to 9 in this order:
plane, car, bird, cat, deer, dog, frog, horse, ship, truck (torchvision names the first two
"airplane" and "automobile"). A batch of images is a float32 tensor of shape (N, 3, 32, 32). In this
question you build two classifiers for it, train them, and measure how well each one recognises
every single class.

The two networks
----------------
`LeNet` is the small CNN of the lecture. Its layers, with the attribute names your class must use:

    layer          PyTorch layer                 output for one image
    conv1          nn.Conv2d(3, 6, 5)            6 x 28 x 28   then ReLU, 2x2 max pool -> 6 x 14 x 14
    conv2          nn.Conv2d(6, 16, 5)           16 x 10 x 10  then ReLU, 2x2 max pool -> 16 x 5 x 5
    (flatten)                                    16 * 5 * 5 = 400
    fc1            nn.Linear(400, 120)           120           then ReLU
    fc2            nn.Linear(120, 84)            84            then ReLU
    fc3            nn.Linear(84, num_classes)    num_classes   (the logits: no ReLU, no softmax)

Both convolutions keep nn.Conv2d's defaults (stride 1, no padding, no dilation), each pool is
`F.max_pool2d(x, 2)` (a 2x2 window, stride 2), and the flatten is `torch.flatten(x, 1)`: feature
c * 25 + i * 5 + j holds channel c at row i, column j. With the default 10 classes LeNet has
456 + 2,416 + 48,120 + 10,164 + 850 = 62,006 parameters (61,156 + 85 * num_classes in general).

`SimpleNN` is the older fully connected network LeNet is compared with. It flattens each image to
3 * 32 * 32 = 3,072 numbers in the same order (`torch.flatten(x, 1)`: c * 1024 + i * 32 + j), then

    fc1 nn.Linear(3072, 512) -> ReLU -> fc2 nn.Linear(512, 256) -> ReLU -> fc3 nn.Linear(256, num_classes)

which is 1,573,376 + 131,328 + 2,570 = 1,707,274 parameters for 10 classes (1,704,704 + 257 *
num_classes): about 27 times as many as LeNet, which shares each small kernel over the whole image.

Training and evaluation
-----------------------
- `train_one_epoch(model, loader, optimizer, loss_fn, device)` makes one pass over the training data:
  for each batch, move it to `device`, zero the gradients, compute the logits and the loss,
  backpropagate and take an optimizer step. It returns the mean loss per example over the epoch.
- `predict(model, loader, device)` runs a model in evaluation mode without gradients and returns the
  predicted class (the index of the largest logit) and the true label of every example.
- `confusion_matrix(predictions, labels, num_classes)` counts, for every actual class (row), how
  often each class was predicted (column); its diagonal holds the correct predictions.
- `per_class_accuracy(predictions, labels, num_classes)` is, for each class, the share of its
  examples that were predicted correctly: correct / examples of that class, from 0 to 1. A class with
  no examples in `labels` has no accuracy: give NaN (`float("nan")`) for it, not 0.

The data
--------
Train on the CIFAR-10 training set (50,000 images); the grader measures your checkpoints on the
CIFAR-10 test set (10,000 images). It feeds your model float32 tensors of shape (N, 3, 32, 32):
every pixel scaled to [0, 1], then normalised per channel (red, green, blue) with the CIFAR-10
mean and std below. Train on images normalised exactly the same way:

    from torchvision import datasets, transforms
    transform = transforms.Compose([
        transforms.ToTensor(),          # a 32x32 RGB image -> (3, 32, 32) float32 in [0, 1]
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.2435, 0.2616)),
    ])
    train_set = datasets.CIFAR10("data", train=True, download=True, transform=transform)
    test_set = datasets.CIFAR10("data", train=False, download=True, transform=transform)

This is NOT the lecture notebook's `Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))`, nor the std
(0.2023, 0.1994, 0.2010) of some tutorials: a model trained on images normalised another way sees
different numbers when it is graded, and loses accuracy (several points for LeNet). Augmenting the
training images (random crops, flips) is fine, with this normalisation last. If your assignment's
README.md names another dataset for grading (the kit's synthetic images, for a trial run), its
section "The data" says how to get those images; their format and normalisation are the same.

What to submit
--------------
This file, plus two checkpoints trained on the training images with your `train_one_epoch`
(num_classes = 10):
- `lenet.pt`: `torch.save(model.state_dict(), "lenet.pt")` for your trained `LeNet`;
- `simple_nn.pt`: the same for your trained `SimpleNN`.
Save the state_dict only (not the whole model): its keys are the attribute names above
(`conv1.weight`, `conv1.bias`, ..., `fc3.bias`).

How it is graded
----------------
Unit tests (public and hidden):
- your networks, built with num_classes from 1 to 20 and 100: the parameter names and shapes above,
  the convolutions' defaults, and the logits for 1-8 random images, which must be float32 and
  within 1e-5 + 1.3e-6 * |logit| of the layers above computed in float64 with your model's own
  weights;
- `train_one_epoch` and `predict` on small nn.Linear models and data the grader makes, with plain
  SGD and nn.CrossEntropyLoss: the returned mean loss (within 1e-4 of the exact one, relative for
  losses above 1), the weights after the epoch (within 1e-4 * (1 + |weight|) of one SGD step per
  batch), the model's mode afterwards, and the order of the examples (shuffled loaders included);
- `confusion_matrix` and `per_class_accuracy` against the grader's own on generated predictions of
  2-12 classes, including classes without examples (shares within 1e-6).
Then the checkpoints: the grader builds `LeNet(10)` and `SimpleNN(10)` from your file, loads each
state_dict with `torch.load(..., weights_only=True)`, calls `model.eval()` and, without gradients,
feeds it the normalised test images in batches of 250 on its device (CPU or GPU); a prediction is
the index of the largest logit. It measures the overall accuracy of both networks, LeNet's accuracy
in every class, and LeNet's lead over SimpleNN, against thresholds set by the course staff.
"""
import torch
import torch.nn.functional as F
from torch import nn


class LeNet(nn.Module):
    """LeNet for 3 x 32 x 32 images: two convolution blocks, then three fully connected layers.

    Args:
        num_classes: number of classes, the size of the last layer's output (an int >= 1).

    Attributes (the names are the keys of the state_dict, keep them):
        conv1: nn.Conv2d(3, 6, 5)     weight (6, 3, 5, 5), bias (6,)
        conv2: nn.Conv2d(6, 16, 5)    weight (16, 6, 5, 5), bias (16,)
        fc1: nn.Linear(400, 120)      weight (120, 400), bias (120,)
        fc2: nn.Linear(120, 84)       weight (84, 120), bias (84,)
        fc3: nn.Linear(84, num_classes)
        No other parameters: 61,156 + 85 * num_classes in all (62,006 for 10 classes).

    Shape:
        Input (N, 3, 32, 32) float32; output (N, num_classes) float32: the logits, with no softmax.

    Examples:
        >>> model = LeNet()
        >>> model(torch.randn(4, 3, 32, 32)).shape
        torch.Size([4, 10])
        >>> sum(p.numel() for p in model.parameters())
        62006
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        # BEGIN SOLUTION
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        # END SOLUTION

    def forward(self, x):
        """conv1 -> ReLU -> 2x2 max pool -> conv2 -> ReLU -> 2x2 max pool -> flatten -> fc1 -> ReLU
        -> fc2 -> ReLU -> fc3. x: (N, 3, 32, 32); returns the logits, (N, num_classes)."""
        # BEGIN SOLUTION
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
        # END SOLUTION


class SimpleNN(nn.Module):
    """The fully connected network LeNet is compared with: 3072 -> 512 -> 256 -> num_classes.

    Args:
        num_classes: number of classes, the size of the last layer's output (an int >= 1).

    Attributes (the names are the keys of the state_dict, keep them):
        fc1: nn.Linear(3072, 512)     weight (512, 3072), bias (512,)
        fc2: nn.Linear(512, 256)      weight (256, 512), bias (256,)
        fc3: nn.Linear(256, num_classes)
        No other parameters: 1,704,704 + 257 * num_classes in all (1,707,274 for 10 classes).

    Shape:
        Input (N, 3, 32, 32) float32, flattened to (N, 3072) inside forward; output (N, num_classes)
        float32: the logits of fc1 -> ReLU -> fc2 -> ReLU -> fc3, with no softmax.

    Examples:
        >>> SimpleNN()(torch.randn(4, 3, 32, 32)).shape
        torch.Size([4, 10])
        >>> sum(p.numel() for p in SimpleNN().parameters())
        1707274
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        # BEGIN SOLUTION
        self.fc1 = nn.Linear(3 * 32 * 32, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, num_classes)
        # END SOLUTION

    def forward(self, x):
        """Flatten x (N, 3, 32, 32) to (N, 3072), then fc1 -> ReLU -> fc2 -> ReLU -> fc3: (N, num_classes)."""
        # BEGIN SOLUTION
        flat = torch.flatten(x, 1)
        hidden = F.relu(self.fc1(flat))
        hidden = F.relu(self.fc2(hidden))
        return self.fc3(hidden)
        # END SOLUTION


def train_one_epoch(model, loader, optimizer, loss_fn, device):
    """Train `model` for one pass over `loader`; return the mean loss per example.

    Args:
        model: any nn.Module that maps a batch of inputs (B, ...) to logits (B, C): your LeNet or
            SimpleNN, or the small models the grader uses. It is already on `device`.
        loader: an iterable of (inputs, labels) batches, e.g. a torch DataLoader: inputs (B, ...)
            float32, labels (B,) int64 class indices. B may differ between batches (the last batch is
            often smaller); the loader yields at least one example.
        optimizer: a torch.optim optimizer over model's parameters, e.g. SGD.
        loss_fn: a loss that averages over a batch, e.g. nn.CrossEntropyLoss(): loss_fn(logits, labels)
            is a 0-d tensor.
        device: where to compute, a str or torch.device ("cpu", "cuda"); move each batch there.

    Returns:
        The mean loss per example over the epoch, a Python float: the sum over batches of
        (batch loss * batch size), divided by the number of examples. Each batch loss is the one
        computed before that batch's optimizer step.

    The model is in training mode (`model.train()`) during the pass and stays in it afterwards. For
    every batch, in this order: zero the gradients, compute the loss, backpropagate, take one
    optimizer step.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> images, labels = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
        >>> loader = DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True)
        >>> model = LeNet()
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        >>> loss = train_one_epoch(model, loader, optimizer, nn.CrossEntropyLoss(), "cpu")
        >>> type(loss), 2.0 < loss < 2.6    # near ln(10) = 2.30 while the model is still guessing
        (<class 'float'>, True)
    """
    # BEGIN SOLUTION
    model.train()
    total_loss, total_examples = 0.0, 0
    for inputs, labels in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        total_examples += len(labels)
    return total_loss / total_examples
    # END SOLUTION


def predict(model, loader, device):
    """The predicted class and the true label of every example of `loader`, in the loader's order.

    Args:
        model: an nn.Module that maps inputs (B, ...) to logits (B, C), already on `device`.
        loader: an iterable of (inputs, labels) batches, as for `train_one_epoch`.
        device: where to compute, a str or torch.device; move each batch's inputs there.

    Returns:
        (predictions, labels), two 1-D int64 tensors of length N (the number of examples) on the CPU:
        predictions[i] is the index of the largest logit of the i-th example the loader yields and
        labels[i] its label, so that pairs stay together even when the loader shuffles.

    Put the model in evaluation mode (`model.eval()`, which changes layers such as dropout and batch
    norm; it stays in that mode afterwards) and compute without gradients (`torch.no_grad()`).

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> test_set = TensorDataset(torch.randn(10, 3, 32, 32), torch.arange(10))
        >>> predictions, labels = predict(LeNet(), DataLoader(test_set, batch_size=4), "cpu")
        >>> predictions.shape, predictions.dtype, labels
        (torch.Size([10]), torch.int64, tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
        >>> accuracy = (predictions == labels).float().mean()   # the overall accuracy, a 0-d tensor
    """
    # BEGIN SOLUTION
    model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for inputs, batch_labels in loader:
            logits = model(inputs.to(device))
            predictions.append(logits.argmax(dim=1).cpu())
            labels.append(batch_labels.cpu())
    return torch.cat(predictions), torch.cat(labels)
    # END SOLUTION


def confusion_matrix(predictions, labels, num_classes):
    """Count how often each actual class was predicted as each class.

    Args:
        predictions: 1-D int64 tensor of length N (N >= 0), predicted classes in 0..num_classes-1.
        labels: 1-D int64 tensor of length N, actual classes in 0..num_classes-1.
        num_classes: number of classes C, an int >= 1.

    Returns:
        An int64 tensor of shape (C, C): entry [a, p] is the number of examples of actual class a
        (row) predicted as class p (column). Rows and columns of classes that never occur hold zeros.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
        tensor([[1, 0, 0],
                [0, 1, 0],
                [0, 1, 1]])
    """
    # BEGIN SOLUTION
    flat = labels.long() * num_classes + predictions.long()
    counts = torch.bincount(flat, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
    # END SOLUTION


def per_class_accuracy(predictions, labels, num_classes):
    """The share of each actual class that was predicted correctly.

    Args:
        predictions, labels, num_classes: as for `confusion_matrix`: the predicted and the actual
            class of each of N examples (N >= 0), two 1-D int64 tensors of classes in
            0..num_classes-1, and the number of classes C, an int >= 1.

    Returns:
        A float tensor (float32 or float64) of shape (C,): entry c is (examples of class c predicted
        as c) / (examples of class c in labels), a share from 0 to 1 (not a percentage); NaN for a
        class with no examples in labels.

    Example:
        >>> per_class_accuracy(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 4)
        tensor([1.0000, 1.0000, 0.5000,    nan])
    """
    # BEGIN SOLUTION
    confusion = confusion_matrix(predictions, labels, num_classes)
    totals = confusion.sum(dim=1)
    return confusion.diagonal() / totals
    # END SOLUTION
