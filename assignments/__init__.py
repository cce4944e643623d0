"""The questions, one folder each, and the small library their tests share (checks.py, ...)."""
