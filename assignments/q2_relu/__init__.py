"""The tests of q2_relu and what they import."""
