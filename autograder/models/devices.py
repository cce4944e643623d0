"""The one device resolver: grading.yml's or a command's `device` (auto, cpu, cuda) as a torch.device."""
from __future__ import annotations

import torch


class DeviceUnavailable(ValueError):
    """CUDA was asked for on a machine without it; the message says so."""


def resolve_device(setting: str) -> torch.device:
    """auto: CUDA when present, else the CPU; cuda: CUDA or DeviceUnavailable; cpu: the CPU."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device cuda was asked for, but CUDA is not available on this machine.")
    return torch.device("cuda" if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()) else "cpu")
