"""Models and data: datasets, the reference recipes and checkpoints, accuracy, devices, training figures."""
