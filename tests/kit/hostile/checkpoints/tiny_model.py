"""Two tiny models for the checkpoint cases, graded through harness.predict_from_checkpoint."""
import torch
from torch import nn


class TinyNet(nn.Module):
    """The model the checkpoints are meant for: one linear layer on 2x2 RGB images."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(x.flatten(1))


class OtherNet(nn.Module):
    """A different architecture, whose state_dict does not fit TinyNet."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).flatten(1))
