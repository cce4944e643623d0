"""report.html: one self-contained page on a graded batch, for the course staff."""
from __future__ import annotations

import base64
import datetime
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

from autograder.reports.plots import plot_question_histograms, plot_scores
from autograder.grading.results import graded_tests, points

LEADERBOARD_TOP = 20
MESSAGE_CHARS = 200  # a failure message longer than this is cut: the table stays a table
QUESTION_SEPARATOR = " › "  # test names read "q1_conv › public › test_..." (results.graded_test)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.figures { font-size: 1.15em; } .figures b { font-size: 1.3em; }
table { border-collapse: collapse; margin: 0.5em 0; } caption { text-align: left; font-weight: bold; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eef2f7; } tr:nth-child(even) td { background: #fafafa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
code { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, monospace, monospace; }
table.tests { width: 100%; } .tests td:first-child { overflow-wrap: anywhere; } .tests td:last-child { width: 40%; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


@dataclass(frozen=True)
class ReportRow:
    name: str
    results: dict  # the submission's results.json
    status: str    # "ok", or why grading broke


@dataclass(frozen=True)
class PassRate:
    name: str
    question: str
    passed: int
    attempted: int
    failures: int
    message: str       # the most common first line of a failure's output ("" when none said anything)
    message_count: int

    @property
    def rate(self) -> float:
        return self.passed / self.attempted


def pass_rates(graded: list[ReportRow]) -> list[PassRate]:
    """Every test across the batch, the most failed first (ties by name)."""
    outcomes: dict[str, list[dict]] = {}
    for row in graded:
        for test in graded_tests(row.results):
            outcomes.setdefault(test["name"], []).append(test)
    rates = [pass_rate(name, tests) for name, tests in outcomes.items()]
    return sorted(rates, key=lambda r: (r.rate, r.name))


def pass_rate(name: str, tests: list[dict]) -> PassRate:
    failed = [t for t in tests if t.get("status") != "passed"]
    messages = Counter(line for line in map(first_line, failed) if line)
    message, count = messages.most_common(1)[0] if messages else ("", 0)
    return PassRate(name, name.split(QUESTION_SEPARATOR)[0] if QUESTION_SEPARATOR in name else "",
                    len(tests) - len(failed), len(tests), len(failed), message, count)


def first_line(test: dict) -> str:
    return next((line.strip() for line in (test.get("output") or "").splitlines() if line.strip()), "")


def leaderboards(graded: list[ReportRow]) -> dict[str, list[tuple[str, object]]]:
    """Per leaderboard column: (submission, value), best first (Gradescope's "order": "asc" puts the lowest first)."""
    columns: dict[str, list[tuple[str, object]]] = {}
    ascending: dict[str, bool] = {}
    for row in graded:
        for entry in row.results.get("leaderboard", []):
            columns.setdefault(entry["name"], []).append((row.name, entry["value"]))
            ascending[entry["name"]] = entry.get("order") == "asc"
    # strings (Gradescope allows "****") sort apart from numbers: comparing the two would raise
    return {name: sorted(ranks, key=lambda r: (isinstance(r[1], str), r[1]), reverse=not ascending[name])
            for name, ranks in columns.items()}


def question_scores(graded: list[ReportRow]) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each question's scores across the batch, and its points."""
    scores: dict[str, list[float]] = {}
    max_points: dict[str, float] = {}
    for row in graded:
        for qid, question in row.results.get("extra_data", {}).get("questions", {}).items():
            scores.setdefault(qid, []).append(float(question["score"]))
            max_points[qid] = float(question["max_score"])
    return scores, max_points


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def figures_html(graded: list[ReportRow], max_score: float) -> str:
    """The batch's score histogram, then one per question, as inline images."""
    totals = [float(row.results.get("score", 0.0)) for row in graded]
    per_question, max_points = question_scores(graded)
    with tempfile.TemporaryDirectory() as folder:
        images = [png_data_uri(plot_scores(totals, max_score, Path(folder) / "scores.png"))]
        if per_question:
            images.append(png_data_uri(plot_question_histograms(per_question, max_points,
                                                                Path(folder) / "questions.png")))
    alts = ["Histogram of the total scores", "Histogram of the scores of each question"]
    return "\n".join(f'<img alt="{alt}" src="{uri}">' for alt, uri in zip(alts, images))


def heading_html(graded: list[ReportRow], title: str, max_score: float) -> str:
    totals = [float(row.results.get("score", 0.0)) for row in graded]
    mean, median = (statistics.mean(totals), statistics.median(totals)) if totals else (0.0, 0.0)
    broken = sum(row.status != "ok" for row in graded)
    return (f"<h1>{escape(title)}</h1>\n<p class=\"figures\"><b>{len(graded)}</b> submissions · "
            f"mean <b>{points(mean)}</b> / {points(max_score)} · median <b>{points(median)}</b> / "
            f"{points(max_score)} · <b>{len(graded) - broken}</b> graded ok · <b>{broken}</b> broke</p>\n"
            "<p>Every submission counts, a broken one with the score its results.json gives (0).</p>")


def table(caption: str, header: list[str], rows: list[list[str]], numbers: tuple[int, ...] = (),
          css_class: str = "") -> str:
    """An HTML table of cells already escaped; columns in numbers are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f'<td class="number">{c}</td>' if i in numbers else f"<td>{c}</td>"
                                      for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table class=\"{css_class}\">\n<caption>{escape(caption)}</caption>\n<tr>{head}</tr>\n{body}\n</table>"


def message_html(rate: PassRate) -> str:
    if not rate.message:
        return "—"
    text = rate.message if len(rate.message) <= MESSAGE_CHARS else rate.message[:MESSAGE_CHARS] + "…"
    return f"{rate.message_count} of {rate.failures}: <code>{escape(text)}</code>"


def tests_html(graded: list[ReportRow]) -> str:
    rows = [[escape(r.name), escape(r.question), f"{r.passed}/{r.attempted}", f"{100 * r.rate:.0f} %", message_html(r)]
            for r in pass_rates(graded)]
    return table("Tests, the most failed first (a low rate may point at an unclear statement or a wrong test)",
                 ["test", "question", "passed", "pass rate", "most common failure (count of failures)"],
                 rows, numbers=(2, 3), css_class="tests")


def broken_html(graded: list[ReportRow]) -> str:
    rows = [[escape(row.name), f"<code>{escape(row.status)}</code>"] for row in graded if row.status != "ok"]
    if not rows:
        return "<p>Every submission was graded to the end.</p>"
    return table(f"{len(rows)} submissions whose grading broke", ["submission", "why"], rows)


def leaderboard_html(graded: list[ReportRow]) -> str:
    boards = leaderboards(graded)
    if not boards:
        return "<p>No submission reported a leaderboard value.</p>"
    return "\n".join(table(f"{name}: top {min(LEADERBOARD_TOP, len(ranks))} of {len(ranks)}",
                           ["rank", "submission", escape(name)],
                           [[str(rank), escape(submission), escape(str(value))]
                            for rank, (submission, value) in enumerate(ranks[:LEADERBOARD_TOP], 1)],
                           numbers=(0, 2))
                     for name, ranks in boards.items())


def write_report(path: Path, graded: list[ReportRow], title: str) -> Path:
    """Write report.html: the batch's figures, score histograms, pass rate per test, broken gradings and the
    leaderboard, in one file that needs nothing else (images inline, no scripts)."""
    max_score = max((float(row.results.get("max_score", 0.0)) for row in graded), default=0.0)
    written = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    sections = [
        heading_html(graded, title, max_score),
        "<h2>Scores</h2>", figures_html(graded, max_score),
        "<h2>Pass rate per test</h2>", tests_html(graded),
        "<h2>Broken gradings</h2>", broken_html(graded),
        "<h2>Leaderboard</h2>", leaderboard_html(graded),
        f"<footer>Written by the autograder kit (autograder/reports/report.py) on {escape(written)}, "
        "from each submission's results.json.</footer>",
    ]
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(sections) + "\n</body>\n</html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
