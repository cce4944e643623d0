"""Renames the template's receptive_field to receptive_field_size."""
receptive_field_size = receptive_field  # noqa: F821
del receptive_field  # noqa: F821
