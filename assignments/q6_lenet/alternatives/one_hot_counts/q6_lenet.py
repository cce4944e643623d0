"""A correct q6 written differently: layer loops, clamp as ReLU, torch.device, one-hot products for counts."""
import torch
from torch import nn
from torch.nn import functional as F


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, num_classes)

    def forward(self, x):
        for conv in (self.conv1, self.conv2):
            x = F.max_pool2d(conv(x).clamp(min=0), (2, 2))
        x = x.flatten(start_dim=1)
        for layer in (self.fc1, self.fc2):
            x = F.relu(layer(x))
        return self.fc3(x)


class SimpleNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(3 * 32 * 32, 512), nn.Linear(512, 256), nn.Linear(256, num_classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        for layer in (self.fc1, self.fc2):
            x = layer(x).relu()
        return self.fc3(x)


def train_one_epoch(model, loader, optimizer, loss_fn, device):
    device = torch.device(device)
    model.to(device).train()
    weighted_sum, examples = 0.0, 0
    for step, (x, y) in enumerate(loader):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        for parameter in model.parameters():
            parameter.grad = None
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        weighted_sum += float(loss) * y.numel()
        examples += y.numel()
    return weighted_sum / examples


def predict(model, loader, device):
    model.to(device).eval()
    outputs, labels = [], []
    with torch.no_grad():
        for x, y in loader:
            outputs.append(model(x.to(device)).cpu())
            labels.append(y)
    return torch.cat(outputs).argmax(-1).long(), torch.cat(labels).long()


def confusion_matrix(predictions, labels, num_classes):
    actual = F.one_hot(labels, num_classes)
    predicted = F.one_hot(predictions, num_classes)
    return actual.T @ predicted


def per_class_accuracy(predictions, labels, num_classes):
    counts = confusion_matrix(predictions, labels, num_classes).double()
    return counts.diagonal() / counts.sum(dim=1)
