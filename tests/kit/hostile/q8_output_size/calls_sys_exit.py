"""receptive_field calls sys.exit."""
import sys


def receptive_field(layers):
    sys.exit(3)
