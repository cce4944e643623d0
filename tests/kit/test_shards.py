"""--shard K/N slices a batch round robin; the slices' output folders merge into one gradebook, manifest and report."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import pytest

import autograder.batches.shards as shards
from autograder.course.config import load_config
from autograder.batches.manifest import Entry, Manifest
from autograder.batches.shards import ShardError, merge_outputs, parse_shard, shard

QUESTIONS = ["q2_relu", "q8_output_size"]  # 10 points each in grading.yml
# (output folder, submission, q2 score, q8 score, student names); dave is in both slices, graded the same
SLICES = [("out-1", "alice", 10.0, 5.0, ["Alice Ng"]), ("out-1", "bob", 0.0, 10.0, ["Bob Li", "Ida Moe"]),
          ("out-1", "dave", 7.5, 7.5, ["Dan Oz"]),
          ("out-2", "carol", 10.0, 10.0, ["Carol Diaz"]), ("out-2", "dave", 7.5, 7.5, ["Dan Oz"])]


def results(q2: float, q8: float) -> dict:
    """A minimal results.json out of q2_relu and q8_output_size."""
    scores = {"q2_relu": q2, "q8_output_size": q8}
    return {"score": q2 + q8, "max_score": 20.0, "execution_time": 1.5, "output": "", "tests": [],
            "extra_data": {"questions": {q: {"score": s, "max_score": 10.0, "title": q} for q, s in scores.items()}}}


def add(out: Path, name: str, q2: float, q8: float, students: list[str], content: str = "") -> Entry:
    """Write name's folder and manifest entry into out, as `autograder grade` would."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    data = results(q2, q8)
    (folder / "results.json").write_text(json.dumps(data))
    (folder / "feedback.md").write_text(f"# Feedback: {name}\n")
    (folder / "grader.log").write_text("")
    entry = Entry(f"/batch/{name}", QUESTIONS, content or f"content-{name}", "tests-1", data["score"], 20.0, "ok",
                  "layers", [{"name": s, "email": "", "sid": "", "submitted_at": ""} for s in students])
    Manifest(out).record(name, entry)
    return entry


def build(root: Path) -> list[Path]:
    for out, name, q2, q8, students in SLICES:
        add(root / out, name, q2, q8, students)
    return [root / "out-1", root / "out-2"]


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """The two slices merged once (with figures: matplotlib's import is paid once)."""
    root = tmp_path_factory.mktemp("slices")
    outs = build(root)
    graded = merge_outputs(outs, root / "merged", load_config())
    return root, graded


@pytest.fixture
def cheap_reports(monkeypatch):
    """write_batch_reports without matplotlib, for the tests that merge again."""
    real = shards.write_batch_reports

    def without_figures(graded, config, out, figures):
        real(graded, config, out, figures=False)

    monkeypatch.setattr(shards, "write_batch_reports", without_figures)


# -- --shard K/N -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("2/5", (2, 5)), ("1/1", (1, 1)), ("4/4", (4, 4)), (" 3/7 ", (3, 7))])
def test_a_shard_is_k_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text, says", [("3", "give K/N"), ("0/4", "K counts from 1 to N"),
                                        ("5/4", "K counts from 1 to N"), ("a/b", "give K/N"), ("2/0", "at least 1"),
                                        ("-1/4", "give K/N"), ("", "give K/N"), ("1/2/3", "give K/N")])
def test_a_bad_shard_is_one_line_naming_it_and_an_example(text, says):
    with pytest.raises(ShardError) as caught:
        parse_shard(text)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"--shard {text}:") and says in message
    assert "e.g. --shard 1/" in message


@pytest.mark.parametrize("count", [0, 1, 7, 12])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 13])
def test_the_slices_cover_the_batch_once_and_are_balanced(count, n):
    items = [f"submission_{i}" for i in range(count)]
    slices = [shard(items, k, n) for k in range(1, n + 1)]
    assert sorted(x for s in slices for x in s) == sorted(items)
    assert len({x for s in slices for x in s}) == count  # no submission in two slices
    assert max(map(len, slices)) - min(map(len, slices)) <= 1
    assert all(s == [x for x in items if x in s] for s in slices)  # each slice keeps the listing's order
    assert shard(items, 2 if n > 1 else 1, n) == items[(1 if n > 1 else 0)::n]


def test_shard_refuses_a_k_outside_1_to_n():
    with pytest.raises(ShardError, match="K counts from 1 to N"):
        shard([1, 2, 3], 0, 2)


# -- merging the slices' output folders -----------------------------------------------

def test_the_gradebook_has_every_submission_once_with_its_scores_and_students(merged):
    root, graded = merged
    with open(root / "merged" / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["submission"] for r in rows] == ["alice", "bob", "dave", "carol"]  # folder by folder, dave once
    expected = {name: (q2, q8, "; ".join(students)) for _, name, q2, q8, students in SLICES}
    for row in rows:
        q2, q8, students = expected[row["submission"]]
        assert (float(row["q2_relu"]), float(row["q8_output_size"]), float(row["score"])) == (q2, q8, q2 + q8)
        assert row["name"] == students and row["assignment"] == "layers" and row["status"] == "ok"
    assert [g.name for g in graded] == ["alice", "bob", "dave", "carol"]
    assert graded[1].students[1].name == "Ida Moe" and graded[0].source == Path("/batch/alice")


def test_the_merge_has_every_folder_the_manifest_and_the_report(merged):
    root, _ = merged
    into = root / "merged"
    assert list(Manifest(into).entries) == ["alice", "bob", "dave", "carol"]
    assert Manifest(into).entries["carol"] == Manifest(root / "out-2").entries["carol"]
    for name in ("alice", "bob", "carol", "dave"):
        assert {p.name for p in (into / name).iterdir()} == {"results.json", "feedback.md", "grader.log"}
    assert (into / "report.html").stat().st_size > 0 and (into / "scores.png").stat().st_size > 0


def test_the_same_submission_graded_differently_in_two_slices_is_refused(tmp_path):
    outs = build(tmp_path)
    add(outs[1], "bob", 10.0, 10.0, ["Bob Li"], content="content-changed")
    with pytest.raises(ShardError) as caught:
        merge_outputs(outs, tmp_path / "merged", load_config())
    message = str(caught.value)
    assert "\n" not in message and message.startswith("bob:")
    assert str(outs[0]) in message and str(outs[1]) in message and "different listings" in message
    assert not (tmp_path / "merged").exists()  # checked before anything was written


def test_a_folder_without_a_manifest_is_refused(tmp_path):
    outs = build(tmp_path)
    (tmp_path / "submissions" / "erin").mkdir(parents=True)
    with pytest.raises(ShardError, match=r"submissions: no manifest\.json, so it is not an output folder of "
                                         r"`autograder grade`"):
        merge_outputs([*outs, tmp_path / "submissions"], tmp_path / "merged", load_config())
    with pytest.raises(ShardError, match="out-3: no such folder"):
        merge_outputs([*outs, tmp_path / "out-3"], tmp_path / "merged", load_config())


@pytest.mark.parametrize("into", ["out-2", "out-2/merged", "."])
def test_merging_into_a_folder_to_merge_or_around_one_is_refused(tmp_path, into):
    outs = build(tmp_path)
    with pytest.raises(ShardError, match="overlaps the folder to merge"):
        merge_outputs(outs, tmp_path / into, load_config())


def test_a_listed_submission_without_results_is_refused(tmp_path):
    outs = build(tmp_path)
    (outs[1] / "carol" / "results.json").unlink()
    with pytest.raises(ShardError, match=r"carol/results\.json: missing, though .*out-2/manifest\.json lists carol"):
        merge_outputs(outs, tmp_path / "merged", load_config())


def test_a_manifest_naming_a_folder_outside_is_refused(tmp_path):
    outs = build(tmp_path)
    manifest = Manifest(outs[1])
    manifest.record("../escape", manifest.entries["carol"])
    with pytest.raises(ShardError, match="'../escape' is not a submission folder's name"):
        merge_outputs(outs, tmp_path / "merged", load_config())


def test_merging_again_replaces_the_earlier_merge(tmp_path, cheap_reports):
    outs = build(tmp_path)
    into = tmp_path / "merged"
    merge_outputs(outs, into, load_config())
    (into / "carol" / "stale.png").write_text("")
    add(outs[1], "carol", 0.0, 0.0, ["Carol Diaz"], content="content-regraded")
    graded = merge_outputs(outs, into, load_config())
    assert graded[-1].results["score"] == 0.0 and Manifest(into).entries["carol"].content == "content-regraded"
    assert not (into / "carol" / "stale.png").exists()


def test_a_folder_holding_other_results_is_not_merged_into(tmp_path, cheap_reports):
    outs = build(tmp_path)
    other = tmp_path / "out-3"
    add(other, "erin", 1.0, 1.0, ["Erin Ho"])
    with pytest.raises(ShardError, match="out-3: its manifest.json lists erin, which no folder to merge holds"):
        merge_outputs(outs, other, load_config())
    assert list(Manifest(other).entries) == ["erin"]


def test_nothing_to_merge_is_refused(tmp_path):
    with pytest.raises(ShardError, match="nothing to merge"):
        merge_outputs([], tmp_path / "merged", load_config())


def test_the_merged_manifest_entries_are_the_slices_own(merged):
    root, _ = merged
    manifest = json.loads((root / "merged" / "manifest.json").read_text())
    assert manifest["regrading"] is False
    assert manifest["submissions"]["dave"] == asdict(Manifest(root / "out-1").entries["dave"])
