"""A correct q6 written differently: layer modules (pool, ReLU, flatten), a tensor running loss, loops for metrics."""
import torch
from torch import nn


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=3, out_channels=6, kernel_size=5)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=16, kernel_size=(5, 5))
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.relu(self.fc1(self.flatten(x)))
        return self.fc3(self.relu(self.fc2(x)))


class SimpleNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(3072, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(self.flatten(x))))))


def train_one_epoch(model, loader, optimizer, loss_fn, device):
    model.train()
    running = torch.zeros((), dtype=torch.float64)
    count = 0
    for images, labels in loader:
        images = images.to(device)
        labels = labels.to(device)
        model.zero_grad()
        outputs = model(images)
        loss = loss_fn(outputs, labels)
        loss.backward()
        optimizer.step()
        running += loss.detach().cpu().double() * images.size(0)
        count += images.size(0)
    return float(running / count)


def predict(model, loader, device):
    model.eval()
    all_predictions, all_labels = [], []
    with torch.inference_mode():
        for images, labels in loader:
            outputs = model(images.to(device))
            _, predicted = torch.max(outputs, 1)
            all_predictions.extend(predicted.tolist())
            all_labels.extend(labels.tolist())
    return torch.tensor(all_predictions, dtype=torch.int64), torch.tensor(all_labels, dtype=torch.int64)


def confusion_matrix(predictions, labels, num_classes):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for actual, predicted in zip(labels.tolist(), predictions.tolist()):
        matrix[actual, predicted] += 1
    return matrix


def per_class_accuracy(predictions, labels, num_classes):
    result = torch.empty(num_classes, dtype=torch.float64)
    for c in range(num_classes):
        mine = labels == c
        if mine.any():
            result[c] = (predictions[mine] == c).double().mean()
        else:
            result[c] = float("nan")
    return result
