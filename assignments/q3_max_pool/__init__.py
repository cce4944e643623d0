"""The tests of q3_max_pool and what they import."""
