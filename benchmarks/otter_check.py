"""The q8 checks of assignments/q8_output_size/test_public.py as an Otter autograder zip, graded with `otter run`."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# The public q8 tests' checks as doctests: (expression, expected output)
CHECKS = [
    ("conv_output_size(28, 5)", "24"), ("conv_output_size(28, 5, padding=2)", "28"),
    ("conv_output_size(14, 5, padding=2)", "14"), ("conv_output_size(7, 3, stride=2, padding=1)", "4"),
    ("conv_output_size(28, 5, padding='same')", "28"), ("conv_output_size(28, 5, padding='valid')", "24"),
    ("pool_output_size(28, 5)", "5"), ("pool_output_size(28, 2)", "14"), ("pool_output_size(14, 2)", "7"),
    ("pool_output_size(7, 2, ceil_mode=False)", "3"), ("pool_output_size(7, 2, ceil_mode=True)", "4"),
]
REJECTED = ["conv_output_size(3, 5)", "conv_output_size(1, 2)", "conv_output_size(4, 3, dilation=2)",
            "conv_output_size(1, 5, padding=1)", "conv_output_size(28, 5, stride=2, padding='same')",
            "pool_output_size(3, 5)"]


def ok_test() -> str:
    """An OK-format test file: one case per check, as `otter assign` writes them."""
    cases = [{"code": f">>> {expr}\n{out}", "hidden": False, "locked": False, "points": 1} for expr, out in CHECKS]
    cases += [{"code": f">>> try:\n...     {expr}\n...     print('accepted')\n... except ValueError:\n"
                       f"...     print('rejected')\nrejected", "hidden": False, "locked": False, "points": 1}
              for expr in REJECTED]
    test = {"name": "q8", "points": len(cases), "suites": [
        {"cases": cases, "scored": True, "setup": "", "teardown": "", "type": "doctest"}]}
    return f"OK_FORMAT = True\n\ntest = {test!r}\n"


def build_autograder(folder: Path) -> Path:
    path = folder / "autograder.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("otter_config.json", json.dumps({"lang": "python"}))
        archive.writestr("tests/q8.py", ok_test())
    return path


def otter_run_seconds(solution: Path, repeats: int) -> list[float] | None:
    """Wall seconds of `otter run` on a .py submission holding the solution (None, with a message, without
    Otter); each run must give full marks."""
    otter = shutil.which("otter") or str(Path(sys.executable).with_name("otter"))
    if not Path(otter).exists():
        print("  skipped: otter is not installed (pip install -e '.[otter]')")
        return None
    folder = Path(tempfile.mkdtemp(prefix="bench-otter-"))
    try:
        autograder = build_autograder(folder)
        submission = folder / "submission.py"
        submission.write_text(solution.read_text())
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            done = subprocess.run([otter, "run", "-a", str(autograder), "-o", str(folder), "--no-logo",
                                   str(submission)], capture_output=True, text=True)
            seconds.append(time.perf_counter() - started)
            results = folder / "results.json"
            if done.returncode != 0 or not results.exists():
                print(f"  skipped: otter run failed ({done.returncode}): {(done.stderr or done.stdout)[-400:]}")
                return None
            score = sum(t.get("score", 0) for t in json.loads(results.read_text())["tests"])
            if score != len(CHECKS) + len(REJECTED):
                print(f"  warning: otter gave {score}/{len(CHECKS) + len(REJECTED)} to the reference solution")
            results.unlink()
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)
