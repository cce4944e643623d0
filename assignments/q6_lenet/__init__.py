"""The tests of q6_lenet and what they import."""
