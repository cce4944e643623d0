"""receptive_field prints megabytes to stdout and stderr, then returns a wrong value."""
import sys

_reference_receptive_field = receptive_field  # noqa: F821


def receptive_field(layers):
    print("x" * (3 << 20))
    print("y" * (3 << 20), file=sys.stderr)
    return _reference_receptive_field(layers) + 1
