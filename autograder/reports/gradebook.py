"""A batch's reports for staff: gradebook.csv, the terminal's summary table, scores.png and report.html."""
from __future__ import annotations

import csv
from pathlib import Path

from autograder.course.config import GradingConfig
from autograder.sandbox.isolation import detect_level

STUDENT_COLUMNS = ("name", "email", "sid", "submitted_at")


def batch_questions(graded, config: GradingConfig) -> list[str]:
    """The questions of any submission of the batch, in grading.yml's order."""
    held = {q for g in graded for q in g.questions}
    return [q for q in config.questions if q in held]


def write_batch_reports(graded, config: GradingConfig, out: Path, figures: bool = True) -> None:
    """gradebook.csv; with figures also scores.png and report.html (matplotlib: a second or two)."""
    write_gradebook(graded, batch_questions(graded, config), out / "gradebook.csv")
    if not figures:
        return
    from autograder.reports.plots import plot_scores
    from autograder.reports.report import ReportRow, write_report

    if graded:
        plot_scores([g.results["score"] for g in graded], max(g.results["max_score"] for g in graded),
                    out / "scores.png")
    write_report(out / "report.html", [ReportRow(g.name, g.results, g.status) for g in graded],
                 f"Class report: {out.resolve().name}")


def write_gradebook(graded, questions: list[str], path: Path) -> None:
    """One row per submission; a question outside a submission's assignment is an empty cell, not a zero."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", *STUDENT_COLUMNS, "assignment", "score", "max_score", *questions,
                         "execution_time", "status", "sandbox"])
        for g in graded:
            extra = g.results.get("extra_data", {})
            per_question = extra.get("questions", {})
            students = ["; ".join(getattr(s, column) for s in g.students) for column in STUDENT_COLUMNS]
            writer.writerow([g.name, *students, g.assignment or "", g.results["score"], g.results["max_score"],
                             *(per_question[q]["score"] if q in per_question else "" for q in questions),
                             g.results.get("execution_time", ""), g.status,
                             extra.get("sandbox", {}).get("level", detect_level().name)])


def summary_table(graded, questions: list[str]) -> str:
    width = max([len("submission")] + [len(g.name) for g in graded])
    column = max([8] + [len(q) for q in questions])
    header = f"{'submission':<{width}}  {'score':>13}  " + "  ".join(f"{q:>{column}}" for q in questions) + "  status"
    lines = [header, "-" * len(header)]
    for g in graded:
        per_question = g.results.get("extra_data", {}).get("questions", {})
        cells = "  ".join(f"{per_question[q]['score']:>{column}.2f}" if q in per_question else f"{'-':>{column}}"
                          for q in questions)
        total = f"{g.results['score']:.2f} / {g.results['max_score']:g}"
        lines.append(f"{g.name:<{width}}  {total:>13}  {cells}  {g.status}")
    return "\n".join(lines)
