"""The tests of q5_linear and what they import."""
