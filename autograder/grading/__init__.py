"""Grading one submission: the pytest plugin, finding its files, results.json and feedback, `check`."""
