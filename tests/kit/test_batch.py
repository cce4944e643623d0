"""A TA's batch, run through the command line as a TA runs it: a Gradescope export and a folder of repositories in,
one clear line for bad input, Ctrl-C and --resume, and a regrade after a fixed test that says what changed."""
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.grading.environment import pytest_env
from autograder.batches.grade import EXAMPLES

pytestmark = pytest.mark.slow

Q8 = "q8_output_size.py"
PERFECT = KIT_ROOT / "solutions" / Q8
WRONG = EXAMPLES / "partly_wrong" / Q8
STUBS = KIT_ROOT / "student_template" / Q8
BROKEN = EXAMPLES / "does_not_import" / Q8
# (folder, file to submit or None, submitters); hugo and ida submitted as a group, with a misnamed file
EXPORT = [("submission_1001", PERFECT, ["Alice Ng"]), ("submission_1002", WRONG, ["Bob Li"]),
          ("submission_1003", STUBS, ["Carol Diaz"]), ("submission_1004", PERFECT, ["Dan Oz"]),
          ("submission_1005", WRONG, ["Erin Ho"]), ("submission_1006", BROKEN, ["Frank Wu"]),
          ("submission_1007", PERFECT, ["Gina Roy"]), ("submission_1008", None, ["Hugo Sa", "Ida Ek"])]
TIMING_COLUMNS = ("execution_time",)
LAYERS_POINTS = f"{sum(q.points for q in load_config().assignments['layers'].questions.values()):g}"  # the export's assignment


def autograder(*args: str, kit: Path = KIT_ROOT, timeout: float = 600, **popen) -> subprocess.CompletedProcess:
    env = pytest_env(PYTHONPATH=str(kit), HOME=str(kit.parent))  # kit: the checkout whose engine runs
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=kit, capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL, **popen)


def fast_config(folder: Path, source: Path = DEFAULT_CONFIG) -> Path:
    """The course settings with fewer Hypothesis examples: the batch, not the questions, is under test."""
    settings = yaml.safe_load(source.read_text())
    settings["hypothesis"]["max_examples"] = 5
    path = folder / "grading.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


def gradebook(out: Path) -> list[dict]:
    rows = list(csv.DictReader(open(out / "gradebook.csv")))
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in rows]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A Gradescope bulk export ("Export Submissions"), as its zip unpacks: one folder per submission."""
    root = tmp_path_factory.mktemp("a very long grader path") / "assignment_4711_export"
    metadata = {}
    for i, (folder, source, people) in enumerate(EXPORT):
        (root / folder).mkdir(parents=True)
        if source is None:
            (root / folder / "Q8.py").write_text("print('misnamed')\n")
        else:
            shutil.copy(source, root / folder / Q8)
        metadata[folder] = {":submitters": [{":name": name, ":sid": f"{1001 + i}{j}", ":email": f"s{i}{j}@uni.edu"}
                                            for j, name in enumerate(people)],
                            ":created_at": f"2026-11-2{i % 9} 14:03:12.123456000 -08:00", ":score": 0.0}
    (root / "submission_metadata.yml").write_text(yaml.safe_dump(metadata))
    return root


@pytest.fixture(scope="module")
def graded_export(export, tmp_path_factory):
    folder = tmp_path_factory.mktemp("graded_export")
    out, config = folder / "out", fast_config(folder)
    done = autograder("grade", str(export), "--out", str(out), "--jobs", "2", "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, config, done


def test_a_gradescope_export_is_graded_one_submission_per_student_with_their_names(graded_export, export):
    out, _, done = graded_export
    rows = {row["submission"]: row for row in gradebook(out)}
    assert list(rows) == [folder for folder, _, _ in EXPORT]
    assert rows["submission_1001"]["name"] == "Alice Ng" and rows["submission_1001"]["email"] == "s00@uni.edu"
    assert rows["submission_1001"]["submitted_at"].startswith("2026-11-20 14:03:12")
    assert rows["submission_1008"]["name"] == "Hugo Sa; Ida Ek" and rows["submission_1008"]["sid"] == "10080; 10081"
    assert {row["assignment"] for row in rows.values()} == {"layers"}  # from the files, not every question
    scores = {name: float(row["q8_output_size"]) for name, row in rows.items()}
    assert scores["submission_1001"] == scores["submission_1004"] == 10.0
    assert 0 < scores["submission_1002"] < 10 and scores["submission_1003"] == scores["submission_1006"] == 0
    assert all(float(row["max_score"]) == float(LAYERS_POINTS) for row in rows.values())  # the layers assignment's points
    hugo = (out / "submission_1008" / "feedback.md").read_text()
    assert "Missing: q8_output_size.py" in hugo
    for name in rows:  # the grader's folders are nobody's business in a student's feedback
        for student_file in ("results.json", "feedback.md"):
            text = (out / name / student_file).read_text()
            assert str(export.parent) not in text and "a very long grader path" not in text, (name, student_file)
    assert f"graded submission_1001: 10 / {LAYERS_POINTS}" in done.stderr
    report = (out / "report.html").read_text()
    assert "<b>8</b> submissions" in report and "q1_conv.py was not found in your submission" in report


def descendants(pid: int) -> set[int]:
    """Every live process below pid (children, their children, ...), from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return False


def ctrl_c_as_on_a_terminal() -> None:
    """SIGINT as a terminal's grader gets it: a test run started in the background of a script (nohup ... &)
    has it ignored, and a child would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_interrupted_batch_stops_cleanly_and_resumes_to_the_same_gradebook(graded_export, export, tmp_path):
    reference, config, _ = graded_export
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "grade", str(export), "--out", str(out), "--jobs", "2",
               "--config", str(config)]
    with open(tmp_path / "stderr", "w") as stderr:
        batch = subprocess.Popen(command, cwd=KIT_ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                                 env=pytest_env(), stdin=subprocess.DEVNULL, preexec_fn=ctrl_c_as_on_a_terminal)
        deadline = time.monotonic() + 300
        while not (out / "manifest.json").exists() and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        delay = random.Random().uniform(0, 2.0)  # a random point after the first result
        time.sleep(delay)
        below = descendants(batch.pid)
        batch.send_signal(signal.SIGINT)
        sent = time.monotonic()
        code = batch.wait(timeout=60)
        stopped_in = time.monotonic() - sent
    log = (tmp_path / "stderr").read_text()
    assert code == 130, log[-3000:]
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"
    time.sleep(0.5)
    assert not [pid for pid in below if alive(pid)], "processes of the batch outlived it"
    assert "Traceback" not in log and "interrupted:" in log and "--resume" in log
    finished = json.loads((out / "manifest.json").read_text())["submissions"]
    assert 0 < len(finished) < len(EXPORT), f"SIGINT {delay:.2f} s after the first result: {len(finished)} done"
    for folder, _, _ in EXPORT:  # nothing half-written: a result for every finished one, nothing for the rest
        assert (out / folder / "results.json").exists() == (folder in finished), folder
        assert not list(out.glob(f"{folder}/*.partial"))
    assert [row["submission"] for row in gradebook(out)] == [f for f, _, _ in EXPORT if f in finished]
    before = {name: (out / name / "results.json").stat().st_mtime_ns for name in finished}

    resumed = autograder("grade", str(export), "--out", str(out), "--jobs", "2", "--config", str(config),
                         "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming: {len(finished)} of {len(EXPORT)} submission(s) already graded and current" in resumed.stderr
    assert {name: (out / name / "results.json").stat().st_mtime_ns for name in finished} == before  # not regraded
    assert resumed.stderr.count("graded submission_") == len(EXPORT) - len(finished)
    assert gradebook(out) == gradebook(reference)


def test_resume_grades_again_a_submission_whose_files_changed(graded_export, export, tmp_path):
    _, config, _ = graded_export
    copy = tmp_path / "export"
    shutil.copytree(export, copy)
    out = tmp_path / "out"
    shutil.copytree(graded_export[0], out)
    shutil.copy(PERFECT, copy / "submission_1002" / Q8)  # Bob fixed his file after the first grading
    (out / "manifest.json").write_text((out / "manifest.json").read_text().replace(str(export), str(copy)))
    resumed = autograder("grade", str(copy), "--out", str(out), "--config", str(config), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming: {len(EXPORT) - 1} of {len(EXPORT)}" in resumed.stderr
    assert resumed.stderr.count("graded submission_") == 1 and f"graded submission_1002: 10 / {LAYERS_POINTS}" in resumed.stderr


def kit_copy(into: Path) -> Path:
    """A staff checkout of the kit to edit (its tests), run through PYTHONPATH."""
    kit = into / "kit"
    ignore = shutil.ignore_patterns("*.pt", "__pycache__", "*.png", "checkpoints.json")
    for name in ("autograder", "tests", "assignments", "solutions", "student_template"):
        shutil.copytree(KIT_ROOT / name, kit / name, ignore=ignore, symlinks=True)
    shutil.copy(KIT_ROOT / "pyproject.toml", kit)  # pytest's settings: the kit's plugin, markers
    fast_config(kit)
    return kit


def test_a_folder_of_repositories_is_regraded_after_a_fixed_test_with_what_changed(tmp_path):
    kit = kit_copy(tmp_path)
    hidden = kit / "assignments" / "q8_output_size" / "test_hidden.py"
    correct = hidden.read_text()
    expectation = "        expected = torch_pool_size(nn.MaxPool2d, **dims)\n        got = student.q8_output_size"
    assert expectation in correct
    hidden.write_text(correct.replace(expectation, expectation.replace("**dims)", "**dims) + 1")))  # a wrong test
    repos = tmp_path / "classroom"
    for name, source in (("alice", PERFECT), ("bob", WRONG), ("carol", PERFECT), ("dan", STUBS)):
        (repos / f"hw4-{name}" / ".git" / "objects").mkdir(parents=True)
        (repos / f"hw4-{name}" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        (repos / f"hw4-{name}" / "src").mkdir()
        shutil.copy(source, repos / f"hw4-{name}" / "src" / Q8)
    out = tmp_path / "out"
    first = autograder("grade", str(repos), "--out", str(out), kit=kit)
    assert first.returncode == 0, first.stderr[-3000:]
    assert [(row["submission"], row["status"]) for row in gradebook(out)] == [
        ("hw4-alice", "ok"), ("hw4-bob", "ok"), ("hw4-carol", "ok"), ("hw4-dan", "ok")]
    before = {row["submission"]: float(row["score"]) for row in gradebook(out)}
    assert before["hw4-alice"] < 10  # the wrong test fails the right answer

    hidden.write_text(correct)  # staff fix the test
    again = autograder("regrade", str(out), kit=kit)
    assert again.returncode == 0, again.stderr[-3000:]
    after = {row["submission"]: float(row["score"]) for row in gradebook(out)}
    # bob ignores ceil_mode: rounding down drops the window PyTorch drops too, so the fixed test passes him
    assert after["hw4-alice"] == after["hw4-carol"] == 10 and after["hw4-bob"] > before["hw4-bob"]
    assert after["hw4-dan"] == before["hw4-dan"] == 0
    changes = (out / "changes.md").read_text()
    assert changes in again.stdout
    test = "test_pool_output_size_ceil_mode_drops_window_starting_past_the_input"
    assert [line.endswith("| 3 | 0 |") for line in changes.splitlines() if test in line] == [True], changes
    assert len([line for line in changes.splitlines() if line.endswith(" | 0 |")]) == 1  # no other test moved
    assert [line.split(" | ")[2] for line in changes.splitlines() if line.startswith("| hw4-alice |")] == [f"10 / {LAYERS_POINTS}"]
    assert "3 submission(s) changed score; 1 kept theirs." in changes
    old = json.loads((out / "previous" / "hw4-alice" / "results.json").read_text())
    assert old["score"] == before["hw4-alice"]  # the results before the regrade are kept
    nothing = autograder("regrade", str(out), kit=kit)
    assert "resuming: 4 of 4 submission(s) already graded and current; grading 0." in nothing.stderr
    assert "No test changed its verdict" in nothing.stdout


@pytest.mark.parametrize("make, args, message", [
    (None, ["--jobs", "0", "{tmp}"], "error: --jobs 0: grade at least one submission at a time (e.g. --jobs 2)."),
    ("notzip", ["{tmp}/alice.zip"], "alice.zip is not a valid zip file"),
    ("empty", ["{tmp}/empty"], "empty"),
    (None, ["{tmp}/nowhere"], "no such file or folder: {tmp}/nowhere"),
    (None, ["--resume", "--out", "{tmp}/out", "{tmp}"], "nothing to resume in {tmp}/out/ (no manifest.json)"),
    ("notzip", ["--shard", "3/2", "{tmp}"], "--shard 3/2: K counts from 1 to N, e.g. --shard 1/2"),
])
def test_bad_input_gets_one_line_naming_it_and_the_fix(tmp_path, make, args, message):
    if make == "notzip":
        (tmp_path / "alice.zip").write_text("<html>Download failed</html>")
    elif make == "empty":
        (tmp_path / "empty").mkdir()
    done = autograder("grade", *(a.format(tmp=tmp_path) for a in args), timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.format(tmp=tmp_path) in lines[0], lines


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="runs the grader as another user")
def test_an_unreadable_submission_gets_one_line_as_an_ordinary_user():
    tmp_path = Path(tempfile.mkdtemp())  # pytest's own is private to root
    tmp_path.chmod(0o755)
    secret = tmp_path / "alice.zip"
    shutil.copy(EXAMPLES / "partly_wrong" / Q8, secret)
    secret.chmod(0o600)
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    done = subprocess.run([*as_nobody, sys.executable, "-m", "autograder.cli", "grade", str(secret)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=pytest_env(HOME=str(tmp_path)))
    shutil.rmtree(tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "cannot read" in lines[0] and str(secret) in lines[0], lines
