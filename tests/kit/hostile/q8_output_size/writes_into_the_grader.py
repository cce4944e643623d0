"""receptive_field tries to overwrite results.json and to add files to the grader's code and hidden tests."""
from pathlib import Path

import autograder.sandbox.worker

KIT = Path(autograder.sandbox.worker.__file__).resolve().parents[1]
FORGED = '{"score": 1000, "max_score": 10, "tests": []}'
GRADED = ""  # the batch's results folder on the grading machine: the kit's test writes it in, as if guessed


def receptive_field(layers):
    results = Path(GRADED, "writes_into_the_grader", "results.json")
    report = []
    for target in (results, KIT / "autograder/hostile_was_here.py", KIT / "assignments/q8_output_size/hostile_was_here.py"):
        try:
            Path(target).write_text(FORGED)
            report.append(f"{target}: WRITTEN")
        except OSError as exc:
            report.append(f"{target}: {exc.strerror}")
    raise RuntimeError("\n".join(report))
