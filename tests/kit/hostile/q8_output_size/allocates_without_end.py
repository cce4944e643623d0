"""receptive_field allocates memory without end."""


def receptive_field(layers):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))
