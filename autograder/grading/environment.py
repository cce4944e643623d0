"""The environment of a kit pytest run started in another process (a grading run, a release check, a benchmark)."""
from __future__ import annotations

import os


def pytest_env(drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """This process's environment for a kit pytest run in another process: without PYTEST_ADDOPTS (and the
    names in `drop`), so a user's own pytest options cannot change a grade; plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", *drop)}, **extra}
