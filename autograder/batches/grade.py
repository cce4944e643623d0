"""`autograder grade`: grade a batch of submissions, one pytest process each; resume it, interrupt it safely."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder.batches.inputs import Student, Submission
from autograder.course.config import KIT_ROOT, GradingConfig
from autograder.course import layout
from autograder.course.layout import question_test_files
from autograder.batches.forkserver import ColdRunner, ForkServers
from autograder.reports.gradebook import write_batch_reports
from autograder.sandbox.isolation import detect_level, grader_files_locked
from autograder.batches.manifest import Entry, Manifest, content_hash, tests_hash
from autograder.grading.results import broken_results, feedback_markdown, points

EXAMPLES = KIT_ROOT / layout.EXAMPLES
START_SLACK_SECONDS = 180  # interpreter and worker start-ups, the grader's own oracles
PARTIAL = ".partial"       # results and logs of a submission being graded; renamed into place when it finishes


@dataclass
class Job:
    """One submission to grade and the questions it is graded out of."""
    submission: Submission
    questions: list[str]
    assignment: str | None = None


@dataclass
class Graded:
    name: str
    source: Path
    results: dict
    status: str  # "ok", or why grading did not finish
    questions: list[str] = field(default_factory=list)
    students: tuple[Student, ...] = ()
    assignment: str | None = None
    reused: bool = False  # a current result of an earlier run (--resume), not graded again


@dataclass
class BatchOutcome:
    graded: list[Graded]       # finished submissions (reused ones included), in the order they were given
    interrupted: bool = False  # Ctrl-C or SIGTERM: the rest were not graded (nothing was written for them)
    total: int = 0             # submissions in the batch


def default_submissions() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir() or p.suffix == ".zip")


def unique_names(paths: list[Path]) -> list[str]:
    names, seen = [], {}
    for path in paths:
        base = path.stem if path.suffix == ".zip" else path.name
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def grade_one(source: Path, name: str, out: Path, config: GradingConfig, config_path: Path, questions: list[str],
              tests: list[str] | None = None, runner=None, stop: threading.Event | None = None) -> Graded | None:
    """Grade one submission in its own pytest process; returns results even if grading broke, and None
    only when `stop` was set before it finished (then nothing of this run is left in its folder).

    tests: the test files to run (default: every public and hidden test file of the questions).
    runner: ForkServers (warm) or ColdRunner (default: a ColdRunner of its own).
    """
    folder = out / name
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    results_part, log_part = folder / f"results.json{PARTIAL}", folder / f"grader.log{PARTIAL}"
    results_part.unlink(missing_ok=True)
    tests = tests or [str(p) for p in question_test_files(questions)]
    args = [*tests, "-q", "--no-header", "-p", "no:cacheprovider", f"--rootdir={KIT_ROOT}",
            f"--submission={source.resolve()}", f"--results={results_part}",
            f"--grading-config={config_path.resolve()}"]
    started = time.monotonic()
    limit = config.limits.submission_seconds + START_SLACK_SECONDS
    own = ColdRunner() if runner is None else contextlib.nullcontext()
    with grader_files_locked((out, source)), own:  # modes come back even if it is killed
        code, timed_out = (runner or own).grade(args, str(log_part), limit)
    finished = not timed_out and code in (0, 1) and results_part.exists()
    if not finished and stop is not None and stop.is_set():
        for part in (results_part, log_part):
            part.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):  # figures a test wrote keep it; they do no harm
                folder.rmdir()
        return None
    if finished:
        results, status = json.loads(results_part.read_text()), "ok"
    else:
        status = (f"grading took longer than {limit:g} s and was stopped" if timed_out
                  else "the warm grading process was lost" if code is None
                  else f"the grading process ended with exit status {code}" if code not in (0, 1)
                  else "the grading process wrote no results")
        results = broken_results(config, questions, status, time.monotonic() - started)
        results_part.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(log_part, folder / "grader.log")
    os.replace(results_part, folder / "results.json")
    (folder / "feedback.md").write_text(feedback_markdown(results, name))
    return Graded(name, source, results, status, questions)


def write_result(out: Path, submission: Submission, questions: list[str], files: dict[str, bytes],
                 results: dict | None, status: str) -> Graded:
    """Write a result graded elsewhere (on a cluster worker) into out/<name>/, results.json last: the files of
    its result folder, or `results` for a submission that could not be graded there (with feedback.md)."""
    folder = out / submission.name
    if results is not None:
        files = {**files, "results.json": (json.dumps(results, indent=2) + "\n").encode(),
                 "feedback.md": feedback_markdown(results, submission.name).encode()}
    for relative, data in sorted(files.items(), key=lambda item: item[0] == "results.json"):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + PARTIAL)
        partial.write_bytes(data)
        os.replace(partial, target)
    results = json.loads(files["results.json"])
    return Graded(submission.name, submission.source, results, status, questions)


def grade_batch(sources: list[Path], out: Path, config: GradingConfig, config_path: Path, questions: list[str],
                jobs: int = 1, tests: list[str] | None = None, warm: bool = True, figures: bool = False) -> list[Graded]:
    """Grade every submission out of the same questions (see grade_work); the finished ones."""
    work = [Job(Submission(name, source), questions) for source, name in zip(sources, unique_names(sources))]
    return grade_work(work, out, config, config_path, jobs=jobs, tests=tests, warm=warm, figures=figures).graded


def grade_work(work: list[Job], out: Path, config: GradingConfig, config_path: Path, jobs: int = 1,
               tests: list[str] | None = None, warm: bool = True, resume: bool = False,
               training=None, after_training: frozenset[str] = frozenset(), figures: bool = True,
               executor=None) -> BatchOutcome:
    """Grade a batch, jobs at a time, with a progress bar; write gradebook.csv, and with figures scores.png and
    report.html.

    One failure never stops the rest: every finished submission gets results.json and feedback.md, and a
    line in manifest.json (what it was graded from). resume: a submission whose result is current (same
    content, same tests and settings) is not graded again. Ctrl-C or SIGTERM ends every process the batch
    started within seconds, writes nothing for the submissions in flight and reports the finished ones.
    training: a BackgroundTraining that the submissions named in after_training wait for.
    warm: grade in forks of warm servers that imported torch and pytest once (False: one cold process each).
    executor: where submissions are graded (default: here, a LocalExecutor; a DaskExecutor: on a cluster).
    """
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out)
    order = {job.submission.name: i for i, job in enumerate(work)}
    graded: list[Graded] = []
    todo: list[tuple[Job, Entry]] = []
    test_hashes: dict[tuple[str, ...], str] = {}
    for job in work:
        key = tuple(job.questions)
        test_hashes.setdefault(key, tests_hash(job.questions, config_path))
        entry = Entry(str(job.submission.source.resolve()), job.questions, content_hash(job.submission.source),
                      test_hashes[key], 0.0, 0.0, "", job.assignment, [vars(s) for s in job.submission.students])
        if resume and manifest.current(job.submission.name, entry.content, entry.tests):
            graded.append(reused(job, out, manifest.entries[job.submission.name]))
        else:
            todo.append((job, entry))
    announce_level()
    if resume:
        print(f"resuming: {len(graded)} of {len(work)} submission(s) already graded and current; "
              f"grading {len(todo)}.", file=sys.stderr)
    stop = threading.Event()
    interrupted = False
    executor = executor or LocalExecutor(jobs, warm and bool(todo), len(todo))
    with grader_files_locked((out, *(job.submission.source for job in work))), executor, \
            tqdm(total=len(todo), unit="submission", desc="grading", file=sys.stderr) as progress:
        def submit(job: Job, entry: Entry):
            return executor.submit(job, entry, out, config, config_path, tests, stop)

        def finish(future, job: Job, entry: Entry) -> None:
            result = future.result()
            if result is None:
                return
            result.students, result.assignment = job.submission.students, job.assignment
            entry.score, entry.max_score, entry.status = (result.results["score"], result.results["max_score"],
                                                          result.status)
            manifest.record(job.submission.name, entry)
            graded.append(result)
            progress.update()
            tqdm.write(f"graded {result.name}: {points(entry.score)} / {points(entry.max_score)}"
                       + ("" if result.status == "ok" else f" ({result.status})"), file=sys.stderr)

        later = [(j, e) for j, e in todo if j.submission.name in after_training]
        pending = {submit(j, e): (j, e) for j, e in todo if j.submission.name not in after_training}
        try:
            with sigterm_as_interrupt():
                while pending or later:
                    if later and (training is None or training.done() or not pending):
                        if training is not None:
                            wait_for(training)
                        pending.update({submit(j, e): (j, e) for j, e in later})
                        later = []
                    done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        finish(future, *pending.pop(future))
        except KeyboardInterrupt:
            interrupted = True
            with signals_ignored():  # a second Ctrl-C must not cut the clean-up short
                stop.set()
                for future in pending:
                    future.cancel()
                executor.stop()
                if training is not None:
                    training.stop()
                for future, (job, entry) in pending.items():
                    if not future.cancelled():
                        finish(future, job, entry)  # finished just before the interrupt, or None
    graded.sort(key=lambda g: order[g.name])
    write_batch_reports(graded, config, out, figures)
    return BatchOutcome(graded, interrupted, len(work))


class LocalExecutor:
    """Submissions graded on this machine, jobs at a time: in forks of warm servers, or cold processes."""

    def __init__(self, jobs: int, warm: bool, count: int):
        self.runner = ForkServers(min(jobs, count)) if warm else ColdRunner()
        self.pool = ThreadPoolExecutor(max_workers=jobs)

    def submit(self, job: Job, entry: Entry, out: Path, config: GradingConfig, config_path: Path,
               tests: list[str] | None, stop: threading.Event):
        return self.pool.submit(grade_one, job.submission.source, job.submission.name, out, config, config_path,
                                job.questions, tests, self.runner, stop)

    def stop(self) -> None:
        self.runner.stop()

    def __enter__(self):
        self.runner.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.pool.shutdown(wait=True)  # the runs in flight return at once once stopped
        self.runner.__exit__(*exc_info)


def wait_for(training) -> None:
    """Show the training's progress until it ends; a failed training is said, and its submissions are graded
    all the same (their accuracy tests then fail, with the reason)."""
    from autograder.models.background_training import TrainingFailed

    try:
        training.wait()
    except TrainingFailed as exc:
        print(f"error: {exc}", file=sys.stderr)


def reused(job: Job, out: Path, entry: Entry) -> Graded:
    results = json.loads((out / job.submission.name / "results.json").read_text())
    return Graded(job.submission.name, job.submission.source, results, entry.status, job.questions,
                  job.submission.students, job.assignment, reused=True)


def announce_level() -> None:
    level = detect_level()
    print(level.describe() + (f"\n  stronger: {level.fix}" if level.fix else ""), file=sys.stderr)
    for problem in level.problems:
        print(f"  problem: {problem}", file=sys.stderr)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM (a scheduler's or `kill`'s stop) ends a batch as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
