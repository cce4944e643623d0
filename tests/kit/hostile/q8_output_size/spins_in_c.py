"""receptive_field spends minutes inside one C call (a huge chain of matrix products), out of Python's reach."""
import torch


def receptive_field(layers):
    matrix = torch.full((3000, 3000), 1e-4, dtype=torch.float64)
    return int(torch.linalg.matrix_power(matrix, 1_000_000).sum())
