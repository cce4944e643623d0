"""The tests of q7_efficientnet and what they import."""
