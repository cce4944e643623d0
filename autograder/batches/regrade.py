"""`autograder regrade`: keep an output folder's results, grade again what is not current, say what changed."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.results import graded_tests, points

PREVIOUS = "previous"      # the results before the regrade, per submission, and the gradebook
CHANGES = "changes.md"


@dataclass
class Changes:
    scores: list[tuple[str, float | None, float | None, float]]  # (submission, old, new, max); None: absent
    now_passing: Counter = field(default_factory=Counter)  # test name -> students who failed it and now pass
    now_failing: Counter = field(default_factory=Counter)  # test name -> students who passed it and now fail
    unchanged: int = 0                                        # submissions whose score did not move


def keep_previous(out: Path, names: list[str]) -> Path:
    """Copy each submission's results.json and the gradebook into out/previous/ (replacing an older copy)."""
    previous = out / PREVIOUS
    shutil.rmtree(previous, ignore_errors=True)
    for name in names:
        results = out / name / "results.json"
        if results.exists():
            (previous / name).mkdir(parents=True)
            shutil.copy2(results, previous / name / "results.json")
    if (out / "gradebook.csv").exists():
        previous.mkdir(exist_ok=True)
        shutil.copy2(out / "gradebook.csv", previous / "gradebook.csv")
    return previous


def load_results(folder: Path, names: list[str]) -> dict[str, dict]:
    return {name: json.loads((folder / name / "results.json").read_text())
            for name in names if (folder / name / "results.json").exists()}


def compare(old: dict[str, dict], new: dict[str, dict]) -> Changes:
    """Per submission its old and new score (those that moved); per test, how many students changed sides."""
    changes = Changes(scores=[])
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        old_score = before["score"] if before else None
        new_score = after["score"] if after else None
        if old_score == new_score:
            changes.unchanged += 1
        else:
            changes.scores.append((name, old_score, new_score, (after or before)["max_score"]))
        if before and after:
            was = {t["name"]: t["status"] == "passed" for t in graded_tests(before)}
            for test in graded_tests(after):
                passed = test["status"] == "passed"
                if test["name"] in was and was[test["name"]] != passed:
                    (changes.now_passing if passed else changes.now_failing)[test["name"]] += 1
    return changes


def changes_markdown(changes: Changes, limit: int | None = None) -> str:
    """What a regrade changed, for a person: the tests first (they explain the scores), then the scores."""
    lines = ["# What the regrade changed", ""]
    tests = sorted(set(changes.now_passing) | set(changes.now_failing))
    if tests:
        lines += ["| test | now pass (failed before) | now fail (passed before) |", "| --- | --- | --- |"]
        lines += [f"| {t} | {changes.now_passing[t]} | {changes.now_failing[t]} |" for t in tests]
    else:
        lines.append("No test changed its verdict for any submission.")
    lines.append("")
    if changes.scores:
        lines += ["| submission | old score | new score | change |", "| --- | --- | --- | --- |"]
        for name, old, new, most in changes.scores[:limit]:  # limit None: every one
            shown = [f"{points(v)} / {points(most)}" if v is not None else "-" for v in (old, new)]
            delta = f"{new - old:+.2f}" if old is not None and new is not None else "new" if old is None else "gone"
            lines.append(f"| {name} | {shown[0]} | {shown[1]} | {delta} |")
        if limit is not None and len(changes.scores) > limit:
            lines.append(f"| ... and {len(changes.scores) - limit} more | | | |")
    lines += ["", f"{len(changes.scores)} submission(s) changed score; {changes.unchanged} kept theirs."]
    return "\n".join(lines) + "\n"
