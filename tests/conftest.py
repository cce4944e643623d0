"""Shared test set-up. The `student` fixture, --submission and the points marker come from
autograder.pytest_plugin (loaded by pyproject's addopts); this folder is on sys.path, so
tests import their Hypothesis strategies with `from strategies import ...`."""
