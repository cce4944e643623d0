"""leaky_relu returns its input unchanged (the control for monkeypatches_the_checks)."""


def leaky_relu(x, negative_slope=0.01):
    return x.clone()
