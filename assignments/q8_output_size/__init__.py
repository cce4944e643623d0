"""The tests of q8_output_size and what they import."""
