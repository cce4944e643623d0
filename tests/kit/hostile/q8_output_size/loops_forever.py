"""receptive_field never returns: a Python loop."""


def receptive_field(layers):
    while True:
        pass
