"""The reference checkpoints trained in a niced child process while grading goes on, with honest progress."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tqdm import tqdm

from autograder.course.config import KIT_ROOT
from autograder.course.registry import load_registry
from autograder.course.layout import SOLUTIONS
from autograder.models.reference_manifest import record
LOG_NAME = "training.log"           # the child's stderr and stray stdout, in the solutions folder
NICENESS = 10                       # grading keeps the CPU first
PARENT_ENV = "AUTOGRADER_TRAINING_PARENT"  # the grader's pid, for the child to check it is still there
BAR = "{desc}: {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} epochs [{clock}]"


class TrainingFailed(RuntimeError):
    """The background training ended before every checkpoint was written; one line: model, status, log."""


def planned_epochs(name: str, epochs: int | None) -> int | None:
    """Epochs the child will train `name` for; None when the kit has no recipe of that name."""
    models = load_registry().models
    return None if name not in models else epochs or models[name].recipe.epochs


# -- the grader's side -------------------------------------------------------------------------
@dataclass
class Progress:
    """What the child has reported of one model, with the grader's clock (time.monotonic())."""
    epochs: int | None          # planned epochs (None: no recipe of that name)
    done_epochs: int = 0
    started: float | None = None  # when its training began (the previous model's end, or the child's start)
    first: float | None = None    # when its first epoch ended
    last: float | None = None     # when its latest epoch ended
    first_seconds: float = 0.0    # the first epoch's training time, as the child measured it
    accuracy: float | None = None
    finished: float | None = None  # when its checkpoint and manifest entry were written

    def clock(self, now: float) -> str:
        """Elapsed<remaining, the remaining counting down from the mean epoch so far; the accuracy when done."""
        if self.started is None:
            return "?"
        elapsed = tqdm.format_interval((self.finished or now) - self.started)
        if self.finished:
            return f"{elapsed}, {self.accuracy:.1%} test accuracy"
        if not self.done_epochs:
            return f"{elapsed}<?"
        per_epoch = ((self.last - self.first) / (self.done_epochs - 1) if self.done_epochs > 1
                     else self.first_seconds)
        remaining = max(0.0, (self.epochs - self.done_epochs) * per_epoch - (now - self.last))
        return f"{elapsed}<{tqdm.format_interval(remaining)}"


class EpochBar(tqdm):
    """A tqdm bar showing our clock: tqdm's own estimate climbs between epochs, which are seconds apart."""
    def __init__(self, *args, clock: str = "?", **kwargs):
        self.clock = clock
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self) -> dict:
        return {**super().format_dict, "clock": self.clock}


class BackgroundTraining:
    """Trains the named reference checkpoints in a child process, started at once; a context manager that
    stops it on exit. Start it from the thread that lives as long as the grading: the kernel ends the child
    when the thread that started it ends."""

    def __init__(self, config_path: Path, names: list[str], solutions: Path = SOLUTIONS, epochs: int | None = None,
                 reason: str = "for the examples"):
        self.names, self.solutions, self.epochs = list(dict.fromkeys(names)), Path(solutions).resolve(), epochs
        self.log = self.solutions / LOG_NAME
        self.progress = {name: Progress(planned_epochs(name, epochs)) for name in self.names}
        self.records: list[dict] = []  # the child's JSON lines, as they arrived
        self.stopped = False
        self._changed = threading.Condition()
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        if self.names:
            print(f"training the reference checkpoints {reason} in the background ({self.plan()}; once: cached in "
                  f"{shown(self.solutions)}/)", file=sys.stderr)
            self._start(Path(config_path).resolve())

    def plan(self) -> str:
        """The epochs of each model: lenet 10 epochs, simple_nn 10, efficientnet 15."""
        counts = [f"{name} {self.progress[name].epochs or '?'}" for name in self.names]
        return ", ".join([counts[0] + " epochs", *counts[1:]])

    def _start(self, config_path: Path) -> None:
        command = [sys.executable, "-m", "autograder.models.background_training", "--config", str(config_path),
                   "--solutions", str(self.solutions), *(["--epochs", str(self.epochs)] if self.epochs else []),
                   "--", *self.names]
        self.solutions.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as log:  # the child keeps its own copy of the descriptor
            # its own session: a terminal's Ctrl-C reaches the grader alone, which then stops it
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                             text=True, cwd=KIT_ROOT, start_new_session=True,
                                             env={**os.environ, PARENT_ENV: str(os.getpid())})
        self.progress[self.names[0]].started = time.monotonic()
        self._reader = threading.Thread(target=self._read, name="reference-training", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._process.stdout:
            try:
                self._note(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue  # not a progress line (the child sends everything else to its log)
        self._process.stdout.close()
        self._process.wait()
        with self._changed:
            self._changed.notify_all()

    def _note(self, line: dict) -> None:
        now, progress = time.monotonic(), self.progress[line["model"]]
        with self._changed:
            self.records.append(line)
            if "epoch" in line:
                progress.done_epochs, progress.epochs, progress.last = line["epoch"], line["epochs"], now
                if line["epoch"] == 1:
                    progress.first, progress.first_seconds = now, line["seconds"]
            if line.get("done"):
                progress.finished, progress.accuracy = now, line["accuracy"]
                later = self.names[self.names.index(line["model"]) + 1:]
                if later:
                    self.progress[later[0]].started = now
            self._changed.notify_all()

    def done(self) -> bool:
        """Whether the child has ended (wait() then returns, or raises, at once); never blocks."""
        return self._reader is None or not self._reader.is_alive()

    def wait(self) -> None:
        """Block until the training ends, with a progress bar per model on stderr (a line each off a terminal);
        raise TrainingFailed if a checkpoint was not written."""
        for name in self.names:
            if not self._show(name):
                break
        if self._reader is not None:
            self._reader.join()
        failure = self.failure()
        if failure:
            raise TrainingFailed(failure)

    def _show(self, name: str) -> bool:
        """Follow one model until its checkpoint is written (True) or the child ends without it (False)."""
        progress = self.progress[name]
        if progress.epochs is None:  # no recipe: the child stops at this name
            return False
        with EpochBar(total=progress.epochs, initial=progress.done_epochs, desc=f"reference {name}", bar_format=BAR,
                      clock=progress.clock(time.monotonic()), file=sys.stderr, disable=None) as bar, self._changed:
            drawn = not bar.disable  # close() disables it
            said = progress.done_epochs  # off a terminal (CI, a log file): a line per epoch instead of a bar
            while True:
                if progress.started is not None:
                    bar.n, bar.clock = progress.done_epochs, progress.clock(time.monotonic())
                    bar.refresh()
                if not drawn and said < progress.done_epochs < progress.epochs:
                    said = progress.done_epochs
                    print(f"reference {name}: {said}/{progress.epochs} epochs [{progress.clock(time.monotonic())}]",
                          file=sys.stderr)
                if progress.finished or self.done():
                    break
                self._changed.wait(1)  # at least once a second: the clock moves between epochs
        if progress.finished and not drawn:
            print(f"reference {name}: {progress.epochs}/{progress.epochs} epochs [{progress.clock(0)}]",
                  file=sys.stderr)
        return bool(progress.finished)

    def failure(self) -> str | None:
        """One line on why the training ended without every checkpoint; None while running or when it succeeded."""
        if not self.done() or all(p.finished for p in self.progress.values()):
            return None
        name = next(n for n in self.names if not self.progress[n].finished)
        code = self._process.returncode
        how = ("stopped" if self.stopped else f"killed by signal {-code}" if code < 0 else f"exit status {code}")
        return f"training the reference {name} failed ({how}); {shown(self.log)} ends: {log_tail(self.log)}"

    def stop(self) -> None:
        """Kill the child and its process group at once, and wait for it; remove its half-written files."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self.stopped = True
            try:
                if hasattr(os, "killpg"):
                    os.killpg(self._process.pid, signal.SIGKILL)  # its own session: the group is its pid
                else:
                    self._process.kill()
            except ProcessLookupError:
                pass  # it ended on its own meanwhile
        self._process.wait()
        self._reader.join()
        for partial in self.solutions.glob(f".*.{self._process.pid}.partial"):
            partial.unlink(missing_ok=True)

    def __enter__(self) -> BackgroundTraining:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def shown(path: Path) -> str:
    """path relative to the working folder when it is inside it (solutions/training.log), else in full."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def log_tail(log: Path, lines: int = 2, width: int = 300) -> str:
    """The last non-blank lines of the log, on one line."""
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"
    tail = " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])
    return (tail[:width] + "...") if len(tail) > width else tail or "(empty)"


# -- the child ---------------------------------------------------------------------------------
def become_background() -> None:
    """Yield the CPU to grading, and never outlive the grader."""
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    if sys.platform == "linux":
        from autograder.sandbox.isolation import die_with_parent
        die_with_parent()
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):  # the grader ended before die_with_parent took hold
        raise SystemExit("the grader that started this training has ended")


def protocol_stream() -> IO[str]:
    """The real stdout, for the JSON lines alone; whatever else writes to stdout (fd 1) goes to stderr."""
    stream = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)
    return stream


def train_all(names: list[str], config_path: Path, solutions: Path, epochs: int | None, out: IO[str]) -> None:
    """Train each name in turn with the kit's recipe (seed 0), telling `out` one JSON line per epoch,
    {"model", "epoch", "epochs", "seconds" (its training time), "accuracy" (on the test set)}, and one when the
    checkpoint and its manifest entry are written: {"model", "done": true, "epochs", "accuracy"}."""
    from autograder.course.config import load_config
    from autograder.models.devices import resolve_device
    from autograder.models.references import train_reference

    config = load_config(config_path)
    device = resolve_device(config.device)

    def send(**line) -> None:
        out.write(json.dumps(line) + "\n")

    for name in names:
        if name not in load_registry().models:
            raise SystemExit(f"error: no recipe for a model {name!r} (a question's models.yml); the kit trains "
                             f"{', '.join(load_registry().models)}.")
        entry = train_reference(name, config, epochs, device, solutions / f"{name}.pt", progress=False,
                                on_epoch=lambda k, n, s, a, name=name: send(
                                    model=name, epoch=k, epochs=n, seconds=round(s, 2), accuracy=round(a, 4)))
        record(name, entry, solutions)
        send(model=name, done=True, epochs=entry["epochs"], accuracy=entry["accuracy"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.models.background_training", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="course settings (grading.yml)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help="where checkpoints and manifest go")
    parser.add_argument("--epochs", type=int, help="epochs (default: each recipe's)")
    parser.add_argument("names", nargs="+", metavar="NAME", help="models to train, e.g. lenet simple_nn")
    args = parser.parse_args(argv)
    out = protocol_stream()
    become_background()
    train_all(args.names, args.config, args.solutions, args.epochs, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
