"""The tests of q4_avg_pool and what they import."""
