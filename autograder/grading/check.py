"""`check("q8_output_size")`: one question's public tests from a notebook or a Python prompt, as `pytest` runs them."""
# Only the standard library here: `from autograder import check` must not load torch into a notebook's kernel.
from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.course.layout import QUESTIONS, question_test_files

STUDENT_POINTS = r"^{name} +public tests: +([\d.]+) of ([\d.]+) points"  # --feedback=student (a student folder)
FULL_POINTS = r"^{name} +([\d.]+) / ([\d.]+)$"                           # --feedback=full (the kit's own folder)
STOP_SECONDS = 10  # after an interrupt, what pytest gets to end its worker and print its summary


@dataclass(frozen=True)
class CheckResult:
    """One `check`: pytest's output as a terminal shows it, and the points the public tests alone are worth.

    `passed` is True when every public test ran and passed. The points are not the grade: hidden tests count too.
    """
    question: str
    output: str
    passed: bool
    points: float
    max_points: float

    def __repr__(self) -> str:
        return self.output

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython's terminal
        printer.text(self.output)

    def _repr_html_(self) -> str:  # a notebook
        return f"<pre>{html.escape(self.output)}</pre>"


def check(question: str | None = None, folder: str | os.PathLike | None = None,
          timeout: float | None = None) -> CheckResult:
    """Run the public tests of `question` (all of them if None) on the files of `folder` (default: the current
    working directory, the unzipped assignment folder), as `pytest` in that folder does.

    pytest runs in a process of its own, with this Python: a hang or a crash costs that process, not the notebook's
    kernel, and each call sees the files as they are now. `timeout` (seconds, None for none) stops it earlier
    than the tests' own time limits would; so does interrupting the call.
    """
    root = Path.cwd() if folder is None else Path(folder)
    questions = public_questions(root)
    if not questions:
        return unrun(question, f"check: {root.resolve()} has no public tests ({QUESTIONS}/*/test_public.py): run it "
                               "in the unzipped assignment folder, where pytest.ini is, or pass folder=...")
    if question is not None and question not in questions:
        return unrun(question, f"check: no question {question!r} here; the questions of this folder are "
                               f"{', '.join(questions)}")
    targets = [t for files in questions.values() for t in files] if question is None else questions[question]
    command = [sys.executable, *(["-S"] if sys.flags.no_site else []),  # where the child finds its modules too
               "-m", "pytest", "--color=no", "--no-header", *targets]
    returncode, output = run(command, root, timeout)
    if "No module named pytest" in output:
        output += (f"\ncheck: this Python ({sys.executable}) lacks the assignment's packages; install them into it, "
                   "e.g. with `%pip install -r requirements.txt` in a notebook cell.")
    points, max_points = points_of(output, question or "total")
    if returncode is None:  # stopped: not every test ran, whatever the summary printed on the way out says
        points = 0.0
    return CheckResult(question or "all", output.rstrip("\n"), returncode == 0, points, max_points)


def public_questions(root: Path) -> dict[str, list[str]]:
    """{question id: its public test files, relative to root}, in question order."""
    found: dict[str, list[str]] = {}
    folders = sorted(p for p in (root / QUESTIONS).glob("q*") if p.is_dir())
    for path in question_test_files([f.name for f in folders], ("public",), root):
        found.setdefault(path.parent.name, []).append(path.relative_to(root).as_posix())
    return dict(sorted(found.items(), key=lambda item: int(item[0][1:].split("_")[0])))  # q2 before q10


def unrun(question: str | None, line: str) -> CheckResult:
    return CheckResult(question or "all", line, False, 0.0, 0.0)


def run(command: list[str], cwd: Path, timeout: float | None) -> tuple[int | None, str]:
    """(exit status, output) of the command; None and what it printed, with a last line saying so, on a timeout."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # the same bytes on every platform, read back as UTF-8
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=os.name == "posix")
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out = stop(process)
        return None, decode(out) + f"\ncheck: stopped after {timeout:g} s (timeout={timeout:g})."
    except KeyboardInterrupt:  # interrupted: pytest ends its worker, then the interrupt goes on
        stop(process)
        raise
    return process.returncode, decode(out)


def stop(process: subprocess.Popen) -> bytes:
    """End pytest as Ctrl-C does (it then ends the worker that runs student code), or kill it; what it printed."""
    try:
        if os.name == "posix":
            process.send_signal(signal.SIGINT)
            return process.communicate(timeout=STOP_SECONDS)[0]
    except subprocess.TimeoutExpired:
        pass
    finally:
        if process.poll() is None:  # no end in time, interrupted again, or Windows (no Ctrl-C for a child there)
            process.kill()
    return process.communicate()[0]


def decode(out: bytes | None) -> str:
    return (out or b"").decode("utf-8", errors="replace").replace("\r\n", "\n")


def points_of(output: str, name: str) -> tuple[float, float]:
    """(points, most points) on the summary line of `name` (a question id or "total"); zeros if there is none."""
    for pattern in (STUDENT_POINTS, FULL_POINTS):
        found = re.search(pattern.format(name=re.escape(name)), output, re.MULTILINE)
        if found:
            return float(found[1]), float(found[2])
    return 0.0, 0.0
