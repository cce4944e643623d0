"""Scores from test outcomes: Gradescope's results.json and the student's feedback.md."""
from __future__ import annotations

from dataclasses import dataclass

from .config import GradingConfig


@dataclass
class TestOutcome:
    question: str          # question id, e.g. "q8_output_size"
    name: str              # test name as pytest shows it
    weight: float          # the test's points marker
    public: bool
    status: str            # "passed", "failed" or "skipped"
    feedback: str = ""     # why it failed
    report: str = ""       # what the test measured, shown passed or failed (e.g. a per-class accuracy table)


def question_scores(outcomes: list[TestOutcome], config: GradingConfig, questions: list[str]) -> dict[str, dict]:
    """Per question: points earned, points possible, and each test's share of the question's points."""
    scores = {}
    for qid in questions:
        tests = [o for o in outcomes if o.question == qid and o.status != "skipped"]
        total_weight = sum(o.weight for o in tests)
        points = config.questions[qid].points
        shares = [points * o.weight / total_weight if total_weight else 0.0 for o in tests]
        earned = sum(s for s, o in zip(shares, tests) if o.status == "passed")
        scores[qid] = {"score": round(earned, 4), "max_score": points, "title": config.questions[qid].title,
                       "tests": list(zip(tests, shares))}
    return scores


def gradescope_results(outcomes: list[TestOutcome], config: GradingConfig, questions: list[str],
                       execution_time: float, notes: list[str], leaderboard: list[dict] | None = None) -> dict:
    """results.json in Gradescope's format; per-question totals go to extra_data."""
    scores = question_scores(outcomes, config, questions)
    tests = []
    for qid, entry in scores.items():
        for outcome, share in entry["tests"]:
            tests.append({
                "name": f"{qid} › {'public' if outcome.public else 'hidden'} › {outcome.name}",
                "score": round(share, 4) if outcome.status == "passed" else 0.0,
                "max_score": round(share, 4),
                "status": "passed" if outcome.status == "passed" else "failed",
                "output": "\n\n".join(text for text in (outcome.feedback, outcome.report) if text),
                "visibility": "visible" if outcome.public else config.hidden_visibility,
            })
    results = {
        "score": round(sum(e["score"] for e in scores.values()), 4),
        "max_score": sum(e["max_score"] for e in scores.values()),
        "execution_time": round(execution_time, 2),
        "output": "\n".join(notes),
        "tests": tests,
        "extra_data": {"questions": {qid: {k: e[k] for k in ("score", "max_score", "title")}
                                     for qid, e in scores.items()}},
    }
    if leaderboard:
        results["leaderboard"] = leaderboard
    return results


def points(value: float) -> str:
    """Points as people write them: 6.67, 10, 0.3."""
    return f"{round(value, 2):g}"


def feedback_markdown(results: dict, title: str) -> str:
    """The student's feedback.md: totals per question, then what each failed test found."""
    lines = [f"# Feedback: {title}", "", f"**Score: {points(results['score'])} / {points(results['max_score'])}**", ""]
    if results.get("output"):
        lines += [results["output"], ""]
    questions = results.get("extra_data", {}).get("questions", {})
    if questions:
        lines += ["| question | score |", "| --- | --- |"]
        lines += [f"| {qid} {q['title']} | {points(q['score'])} / {points(q['max_score'])} |"
                  for qid, q in questions.items()]
        lines.append("")
    failed = [t for t in results["tests"] if t["status"] != "passed"]
    passed = len(results["tests"]) - len(failed)
    lines.append(f"{passed} of {len(results['tests'])} tests passed.")
    for test in results["tests"]:  # passed tests that measured something worth reading
        if test["status"] == "passed" and test["output"]:
            lines += ["", f"## ✓ {test['name']} ({points(test['score'])} / {points(test['max_score'])})",
                      "", "```", test["output"].rstrip(), "```"]
    by_output: dict[str, list[dict]] = {}  # tests that failed for the same reason are shown together
    for test in failed:
        by_output.setdefault(test["output"].rstrip(), []).append(test)
    for output, tests in by_output.items():
        lines.append("")
        lines += [f"## ✗ {t['name']} (0 / {points(t['max_score'])})" for t in tests]
        lines += ["", "```", output, "```"]
    return "\n".join(lines) + "\n"
