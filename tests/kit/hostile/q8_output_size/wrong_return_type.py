"""receptive_field returns a float instead of an int."""
_reference_receptive_field = receptive_field  # noqa: F821


def receptive_field(layers):
    return float(_reference_receptive_field(layers))
