"""receptive_field tries to read the hidden tests, the solutions, the course settings, the grader's process,
the submitted folder and another student's results, and shows what it read."""
import os
from pathlib import Path

import autograder.sandbox.worker

KIT = Path(autograder.sandbox.worker.__file__).resolve().parents[1]
GRADED = ""     # the batch's results folder and this submission's folder on the grading machine: the kit's test
SUBMITTED = ""  # writes them in, as if the attacker had guessed them


def targets():
    parent = f"/proc/{os.getppid()}"  # the grading process (cold) or the zygote (warm grading)
    results = Path(GRADED, "reads_hidden_material", "results.json")
    return [KIT / "assignments/q8_output_size/test_hidden.py", KIT / "solutions/q8_output_size.py",
            KIT / "assignments/q8_output_size/master.py", KIT / "grading.yml",
            Path(parent, "cwd/assignments/q8_output_size/test_hidden.py"), Path(parent, "environ"),
            Path(f"/proc/1/root{KIT}/assignments/q8_output_size/test_hidden.py"),
            Path(SUBMITTED, "q8_output_size.py"),
            results.parent.parent / "perfect" / "results.json"]


def receptive_field(layers):
    report = []
    for target in targets():
        try:
            report.append(f"{target}: READ {target.read_text()[:3000]!r}")
        except OSError as exc:
            report.append(f"{target}: {exc.strerror}")
    raise RuntimeError("\n".join(report))
