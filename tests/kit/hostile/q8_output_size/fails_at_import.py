"""Fails at import: module-level code raises IndexError."""
LAYER_NAMES = ["Conv2d", "MaxPool2d"]
DEFAULT_LAYER = LAYER_NAMES[2]
