"""The CNN exercise kit's grading engine. `from autograder import check` runs a question's public tests."""
from autograder.grading.check import check

__all__ = ["check"]
