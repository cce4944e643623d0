"""Scores from test outcomes: Gradescope's results.json and the student's feedback.md."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from autograder.course.config import GradingConfig

if TYPE_CHECKING:
    from autograder.sandbox.isolation import Level

# Gradescope's "text" format shows a string as it is, in a fixed-width block: tables stay aligned, and nothing a
# student printed (backticks, *, _, <) is read as Markdown or HTML, as "md", "simple_format" or "html" would.
OUTPUT_FORMAT = "text"
TEXT_FORMATS = {"output_format": OUTPUT_FORMAT, "test_output_format": OUTPUT_FORMAT, "test_name_format": OUTPUT_FORMAT}
SANDBOX_TEST_NAME = "Grading sandbox (staff only)"


@dataclass
class TestOutcome:
    __test__ = False  # a record, not a pytest test class (test modules import it)

    question: str          # question id, e.g. "q8_output_size"
    name: str              # test name as pytest shows it
    weight: float          # the test's points marker
    public: bool
    status: str            # "passed", "failed" or "skipped"
    feedback: str = ""     # why it failed
    report: str = ""       # what the test measured, shown passed or failed (e.g. a per-class accuracy table)


def shares(points: float, weights: list[float]) -> list[Decimal]:
    """Each weight's share of points, in hundredths (finer if points has more decimals), adding up to points exactly.

    Largest remainder method: every exact share is rounded down to a hundredth, then the hundredths left over go
    one each to the shares that lost most (the earlier test first on a tie)."""
    total = Decimal(repr(float(points)))
    step = Decimal(1).scaleb(min(-2, total.as_tuple().exponent))
    units = int(total / step)
    weight_sum = sum(map(Fraction, weights), Fraction(0))
    if weight_sum == 0:
        return [Decimal(0)] * len(weights)
    quotas = [units * Fraction(weight) / weight_sum for weight in weights]
    counts = [math.floor(quota) for quota in quotas]
    largest_remainders = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in largest_remainders[:units - sum(counts)]:
        counts[i] += 1
    return [count * step for count in counts]


def question_scores(outcomes: list[TestOutcome], config: GradingConfig, questions: list[str]) -> dict[str, dict]:
    """Per question: points earned (a Decimal), points possible, and each test with its share of the points."""
    scores = {}
    for qid in questions:
        question = config.questions[qid]
        tests = [o for o in outcomes if o.question == qid and o.status != "skipped"]
        parts = shares(question.points, [o.weight for o in tests])
        earned = sum((part for part, o in zip(parts, tests) if o.status == "passed"), Decimal(0))
        scores[qid] = {"score": earned, "max_score": question.points, "title": question.title,
                       "tests": list(zip(tests, parts))}
    return scores


def graded_test(outcome: TestOutcome, share: Decimal, config: GradingConfig) -> dict:
    """One tests[] entry of results.json."""
    return {
        "name": f"{outcome.question} › {'public' if outcome.public else 'hidden'} › {outcome.name}",
        "score": float(share) if outcome.status == "passed" else 0.0,
        "max_score": float(share),
        "status": "passed" if outcome.status == "passed" else "failed",
        "output": "\n\n".join(text for text in (outcome.feedback, outcome.report) if text),
        "visibility": "visible" if outcome.public else config.hidden_visibility,
    }


def sandbox_test(level: Level) -> dict:
    """A tests[] entry only instructors see (Gradescope never shows "hidden" tests to students), worth no points:
    how far student code was confined, and how to confine it further."""
    lines = [level.describe()]
    if level.fix:
        lines.append(f"To confine student code further: {level.fix}.")
    lines += [f"Problem: {problem}" for problem in level.problems]
    return {"name": SANDBOX_TEST_NAME, "output": "\n".join(lines), "visibility": "hidden"}


def gradescope_results(outcomes: list[TestOutcome], config: GradingConfig, questions: list[str],
                       execution_time: float, notes: list[str], leaderboard: list[dict] | None = None,
                       sandbox: Level | None = None) -> dict:
    """results.json in Gradescope's format; per-question totals and the sandbox level go to extra_data.

    sandbox: the level student code ran at, for staff: in extra_data and in a hidden tests[] entry."""
    scores = question_scores(outcomes, config, questions)
    results = {
        "score": float(sum((e["score"] for e in scores.values()), Decimal(0))),
        "max_score": float(sum((Decimal(repr(float(e["max_score"]))) for e in scores.values()), Decimal(0))),
        "execution_time": round(execution_time, 2),
        "output": "\n".join(notes),
        **TEXT_FORMATS,
        "tests": [graded_test(o, share, config) for e in scores.values() for o, share in e["tests"]],
        "extra_data": {"questions": {qid: {"score": float(e["score"]), "max_score": e["max_score"], "title": e["title"]}
                                     for qid, e in scores.items()}},
    }
    if leaderboard:
        results["leaderboard"] = leaderboard
    if sandbox is not None:
        results["extra_data"]["sandbox"] = {"level": sandbox.name, "reason": sandbox.reason}
        results["tests"].append(sandbox_test(sandbox))
    return results


def broken_results(config: GradingConfig, questions: list[str], problem: str, seconds: float) -> dict:
    """results.json when the grading process itself failed: no tests, zero for every question, and the reason."""
    return gradescope_results([], config, questions, seconds, [f"Your submission could not be graded: {problem}. "
                                                               "The course staff have the grader's log."])


def graded_tests(results: dict) -> list[dict]:
    """The tests[] entries that carry points: all but the staff-only sandbox entry."""
    return [test for test in results.get("tests", []) if "max_score" in test]


def points(value: float) -> str:
    """Points as people write them: 6.67, 10, 0.3."""
    return f"{round(value, 2):g}"


def feedback_markdown(results: dict, title: str) -> str:
    """The student's feedback.md: totals per question, then what each failed test found (graded tests only)."""
    lines = [f"# Feedback: {title}", "", f"**Score: {points(results['score'])} / {points(results['max_score'])}**", ""]
    if results.get("output"):
        lines += [results["output"], ""]
    questions = results.get("extra_data", {}).get("questions", {})
    if questions:
        lines += ["| question | score |", "| --- | --- |"]
        lines += [f"| {qid} {q['title']} | {points(q['score'])} / {points(q['max_score'])} |"
                  for qid, q in questions.items()]
        lines.append("")
    tests = graded_tests(results)
    failed = [t for t in tests if t["status"] != "passed"]
    lines.append(f"{len(tests) - len(failed)} of {len(tests)} tests passed.")
    for test in tests:  # passed tests that measured something worth reading
        if test["status"] == "passed" and test["output"]:
            lines += ["", f"## ✓ {test['name']} ({points(test['score'])} / {points(test['max_score'])})",
                      "", "```", test["output"].rstrip(), "```"]
    by_output: dict[str, list[dict]] = {}  # tests that failed for the same reason are shown together
    for test in failed:
        by_output.setdefault(test["output"].rstrip(), []).append(test)
    for output, group in by_output.items():
        lines.append("")
        lines += [f"## ✗ {t['name']} (0 / {points(t['max_score'])})" for t in group]
        lines += ["", "```", output, "```"]
    return "\n".join(lines) + "\n"
