"""`autograder grade`: grade a batch of submissions, one pytest process each, and write the reports."""
from __future__ import annotations

import contextlib
import csv
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .config import KIT_ROOT, GradingConfig, pytest_env, question_test_files
from .forkserver import ForkServers
from .isolation import detect_level, end_workers_of, grader_files_locked
from .plots import plot_scores
from .results import TEXT_FORMATS, feedback_markdown

EXAMPLES = KIT_ROOT / "examples" / "submissions"
START_SLACK_SECONDS = 180  # interpreter and worker start-ups, the grader's own oracles


@dataclass
class Graded:
    name: str
    source: Path
    results: dict
    status: str  # "ok", or why grading did not finish


def default_submissions() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir() or p.suffix == ".zip")


def unique_names(paths: list[Path]) -> list[str]:
    names, seen = [], {}
    for path in paths:
        base = path.stem if path.suffix == ".zip" else path.name
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def grade_one(source: Path, name: str, out: Path, config: GradingConfig, config_path: Path,
              questions: list[str], tests: list[str] | None = None, servers: ForkServers | None = None) -> Graded:
    """Grade one submission in its own pytest process; always returns results, even if grading broke.

    tests: the test files to run (default: every public and hidden test file of the questions).
    servers: warm fork servers to grade in (default: a new `python -m pytest` process, cold).
    """
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / "results.json"
    results_path.unlink(missing_ok=True)
    tests = tests or [str(p) for p in question_test_files(questions)]
    args = [*tests, "-q", "--no-header", "-p", "no:cacheprovider", f"--rootdir={KIT_ROOT}",
            f"--submission={source.resolve()}", f"--results={results_path}",
            f"--grading-config={config_path.resolve()}"]
    started = time.monotonic()
    limit = config.limits.submission_seconds + START_SLACK_SECONDS
    with grader_files_locked((out, source)):  # modes come back even if it is killed
        if servers is None:
            code, timed_out = run_cold(args, folder / "grader.log", limit)
        else:
            code, timed_out = servers.grade(args, str(folder / "grader.log"), limit)
    if timed_out:
        problem = f"grading took longer than {limit:g} s and was stopped"
    elif code is None:
        problem = "the warm grading process was lost"
    else:
        problem = None if code in (0, 1) else f"the grading process ended with exit status {code}"
    if results_path.exists() and problem is None:
        results, status = json.loads(results_path.read_text()), "ok"
    else:
        problem = problem or "the grading process wrote no results"
        results, status = broken_results(config, questions, problem, time.monotonic() - started), problem
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    (folder / "feedback.md").write_text(feedback_markdown(results, name))
    return Graded(name, source, results, status)


def run_cold(args: list[str], log: Path, limit: float) -> tuple[int, bool]:
    """`python -m pytest args` in a new process, output to log: (exit status, whether it ran past limit s)."""
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=KIT_ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, env=pytest_env(), stdin=subprocess.DEVNULL)
        try:
            return process.wait(timeout=limit), False
        except subprocess.TimeoutExpired:
            process.kill()
            end_workers_of(process.pid)  # before reaping it, so that its pid (their user) is not reused yet
            return process.wait(), True


def broken_results(config: GradingConfig, questions: list[str], problem: str, seconds: float) -> dict:
    """Zero for every question, with the reason, when the grading process itself failed."""
    return {
        "score": 0.0, "max_score": sum(config.questions[q].points for q in questions),
        "execution_time": round(seconds, 2), "tests": [],
        "output": f"Your submission could not be graded: {problem}. The course staff have the grader's log.",
        **TEXT_FORMATS,
        "extra_data": {"questions": {q: {"score": 0.0, "max_score": config.questions[q].points,
                                         "title": config.questions[q].title} for q in questions}},
    }


def grade_batch(sources: list[Path], out: Path, config: GradingConfig, config_path: Path, questions: list[str],
                jobs: int = 1, tests: list[str] | None = None, warm: bool = True) -> list[Graded]:
    """Grade every submission (jobs at a time) with a progress bar; write gradebook.csv and scores.png.

    One failure never stops the rest: every submission gets results.json and feedback.md.
    warm: grade in forks of warm servers that imported torch and pytest once (False: one cold process each).
    """
    out.mkdir(parents=True, exist_ok=True)
    names = unique_names(sources)
    graded: list[Graded] = []
    level = detect_level()
    print(level.describe() + (f"\n  stronger: {level.fix}" if level.fix else ""), file=sys.stderr)
    for problem in level.problems:
        print(f"  problem: {problem}", file=sys.stderr)
    servers = ForkServers(min(jobs, len(sources))) if warm else contextlib.nullcontext()
    with grader_files_locked((out, *sources)), servers, \
            ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(sources), unit="submission", desc="grading", file=sys.stderr) as progress:
        futures = [pool.submit(grade_one, s, n, out, config, config_path, questions, tests, servers if warm else None)
                   for s, n in zip(sources, names)]
        for future in as_completed(futures):
            graded.append(future.result())
            progress.update()
    graded.sort(key=lambda g: names.index(g.name))
    write_gradebook(graded, questions, out / "gradebook.csv")
    per_question = [{q: v["score"] for q, v in g.results.get("extra_data", {}).get("questions", {}).items()}
                    for g in graded]
    plot_scores(names, per_question, questions, sum(config.questions[q].points for q in questions),
                out / "scores.png")
    return graded


def write_gradebook(graded: list[Graded], questions: list[str], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "score", "max_score", *questions, "execution_time", "status", "sandbox"])
        for g in graded:
            extra = g.results.get("extra_data", {})
            per_question = extra.get("questions", {})
            writer.writerow([g.name, g.results["score"], g.results["max_score"],
                             *(per_question.get(q, {}).get("score", 0.0) for q in questions),
                             g.results.get("execution_time", ""), g.status,
                             extra.get("sandbox", {}).get("level", detect_level().name)])


def summary_table(graded: list[Graded], questions: list[str]) -> str:
    width = max([len("submission")] + [len(g.name) for g in graded])
    column = max([8] + [len(q) for q in questions])
    header = f"{'submission':<{width}}  {'score':>13}  " + "  ".join(f"{q:>{column}}" for q in questions) + "  status"
    lines = [header, "-" * len(header)]
    for g in graded:
        per_question = g.results.get("extra_data", {}).get("questions", {})
        cells = "  ".join(f"{per_question.get(q, {}).get('score', 0.0):>{column}.2f}" for q in questions)
        total = f"{g.results['score']:.2f} / {g.results['max_score']:g}"
        lines.append(f"{g.name:<{width}}  {total:>13}  {cells}  {g.status}")
    return "\n".join(lines)
