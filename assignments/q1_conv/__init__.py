"""The tests of q1_conv and what they import."""
