"""Which data each reference checkpoint in solutions/ was trained on (solutions/checkpoints.json); no torch here,
so the batch grader can ask which checkpoints are stale without loading it."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from autograder.course.config import GradingConfig
from autograder.course.layout import SOLUTIONS



def manifest_path(solutions: Path = SOLUTIONS) -> Path:
    return solutions / "checkpoints.json"


def read_manifest(solutions: Path = SOLUTIONS) -> dict:
    path = manifest_path(solutions)
    return json.loads(path.read_text()) if path.exists() else {}


def data_fingerprint(config: GradingConfig) -> dict:
    """What a reference checkpoint was trained on: the dataset, and the synthetic one's size and seed."""
    return {"data": config.data.name, **(dataclasses.asdict(config.data.synthetic) if config.data.name == "synthetic"
                                         else {})}


def stale_references(config: GradingConfig, names: list[str], solutions: Path = SOLUTIONS) -> list[str]:
    """The names whose checkpoint in solutions is missing, or was trained on other data than config's."""
    manifest, fingerprint = read_manifest(solutions), data_fingerprint(config)
    return [name for name in names if not (solutions / f"{name}.pt").exists()
            or any(manifest.get(name, {}).get(k) != v for k, v in fingerprint.items())]


def record(name: str, entry: dict, solutions: Path = SOLUTIONS) -> None:
    """Note in the manifest what the checkpoint `name` was trained on (atomically: a reader never sees half)."""
    manifest = read_manifest(solutions)
    manifest[name] = entry
    path = manifest_path(solutions)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # save_checkpoint's naming: one clean-up
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    partial.replace(path)
