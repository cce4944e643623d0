"""The tests of q9_batch_norm and what they import."""
