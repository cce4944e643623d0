"""Hostile and broken submissions: the grader is never fooled, never crashes, never loses a result."""
import csv
import json
import re
import resource
import shutil
import socket
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from autograder.batches import grade
from autograder.sandbox import isolation
from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.batches.grade import grade_batch, grade_one
from dask_cluster import grade_on, without_timing
from hostile.processes import watching_graders, workers_of

pytestmark = pytest.mark.slow

HOSTILE = KIT_ROOT / "tests" / "kit" / "hostile"
SOLUTIONS = KIT_ROOT / "solutions"
QUESTIONS = ["q2_relu", "q8_output_size"]  # every submission is graded on both; each case breaks one
PUBLIC_TESTS = [str(KIT_ROOT / "assignments" / qid / "test_public.py") for qid in QUESTIONS]  # enough, and quick
LIMITS = {"call_seconds": 3, "submission_seconds": 120, "memory_mb": 512, "file_size_mb": 16, "output_kb": 16,
          "processes": 32}
LEVEL = isolation.detect_level().name  # CI runs this file at its own level, and again under capsh (test_levels)
RANK = {isolation.NONE: 0, isolation.USERS: 1, isolation.NAMESPACES: 2}
AS_OWN_USER = RANK[LEVEL] >= RANK[isolation.USERS]
ROOT_ONLY = "needs a grader running as root (the worker's own user)"
NAMESPACES_ONLY = "needs a grader running as root with Linux namespaces (no network for the worker)"
RECEPTIVE = "receptive_field"
LEAKY = "leaky_relu|rectifier"
PIPE = "did your code write to, close or replace the grader's pipe?"
ATTEMPT = re.compile(r"(/[^\s:]+): ([^\n]+)")  # "<path>: <what happened>" in a hostile function's report


@dataclass(frozen=True)
class Case:
    question: str      # the question whose file the case breaks; the other graded question stays perfect
    affects: str       # regex on test names: only these tests of the question may fail (at least one does)
    message: str | None  # in the feedback of every failed test (None: checked by a test of its own)
    needs: str = isolation.NONE  # the weakest sandbox level at which the case's message holds


CASES = {
    "does_not_parse": Case("q8_output_size", ".", "importing q8_output_size.py failed with SyntaxError"),
    "fails_at_import": Case("q8_output_size", ".", "failed with IndexError: list index out of range"),
    "imports_a_missing_module": Case("q8_output_size", ".", "No module named 'cv2'; only the Python standard "
                                     "library, torch, torchvision and numpy can be imported when grading"),
    "wrong_function_name": Case("q8_output_size", RECEPTIVE, "q8_output_size.py defines no 'receptive_field'; "
                                "keep the names used in the template"),
    "wrong_signature": Case("q8_output_size", "conv_output_size", "conv_output_size() missing"),
    "wrong_return_type": Case("q8_output_size", RECEPTIVE, "returned float 8.0; return a Python int"),
    "loops_forever": Case("q8_output_size", RECEPTIVE, "did not finish within 3 s (the time limit per call)"),
    "sleeps": Case("q8_output_size", RECEPTIVE, "did not finish within 3 s (the time limit per call)"),
    "spins_in_c": Case("q8_output_size", RECEPTIVE, "did not finish within 3 s (the time limit per call)"),
    "forks_without_end": Case("q8_output_size", RECEPTIVE, "exceeded the limit of 32 processes and threads",
                              needs=isolation.USERS),
    "allocates_without_end": Case("q8_output_size", RECEPTIVE, "exceeded the 512 MiB memory limit"),
    "writes_a_huge_file": Case("q8_output_size", RECEPTIVE, "exceeded the 16 MiB file-size limit"),
    "prints_megabytes": Case("q8_output_size", RECEPTIVE, "more bytes of output were dropped: at most 16 KiB "
                             "of output are kept per call"),
    "calls_sys_exit": Case("q8_output_size", RECEPTIVE, "your code tried to end the process (SystemExit(3)); "
                           "do not exit, return the result."),
    "calls_os_exit": Case("q8_output_size", RECEPTIVE, "your code ended the process (exit status 0"),
    "kills_itself": Case("q8_output_size", RECEPTIVE, "the process running your code was killed (SIGKILL)"),
    "kills_its_parent": Case("q8_output_size", RECEPTIVE, "raised PermissionError: [Errno 1] Operation not "
                             "permitted", needs=isolation.USERS),
    "segfaults": Case("q8_output_size", RECEPTIVE, "crashed with a segmentation fault"),
    "closes_the_pipe": Case("q8_output_size", RECEPTIVE, f"the worker lost its pipe to the grader; {PIPE}"),
    "writes_garbage_to_the_pipe": Case("q8_output_size", RECEPTIVE, f"which the worker never sends; {PIPE}"),
    "forges_a_reply": Case("q8_output_size", RECEPTIVE, f"did not answer this call; {PIPE}"),
    "reads_hidden_material": Case("q8_output_size", RECEPTIVE, "raised RuntimeError", needs=isolation.USERS),
    "writes_into_the_grader": Case("q8_output_size", RECEPTIVE, "raised RuntimeError", needs=isolation.USERS),
    "walks_gc_and_frames": Case("q8_output_size", RECEPTIVE, "grader modules: []; grader objects: []"),
    "opens_a_network_connection": Case("q8_output_size", RECEPTIVE, "no connection: [Errno 101] Network is "
                                       "unreachable", needs=isolation.NAMESPACES),
    "returns_wrong_values": Case("q2_relu", LEAKY, "is wrong at"),
    "monkeypatches_the_checks": Case("q2_relu", ".", None),  # its patched builtins also break torch's autograd
    "returns_wrong_dtype": Case("q2_relu", LEAKY, "has dtype float64, expected float"),
    "returns_wrong_device": Case("q2_relu", LEAKY, "returned a tensor on the meta device, which holds no values"),
    "returns_nans": Case("q2_relu", LEAKY, "got nan"),
}
GRADED = [name for name, case in CASES.items() if RANK[LEVEL] >= RANK[case.needs]]


def make_submission(root: Path, name: str, case: Case, port: int) -> Path:
    """The reference files of QUESTIONS, with the case's snippet appended to its question's file."""
    folder = root / name
    folder.mkdir()
    for qid in QUESTIONS:
        shutil.copy(SOLUTIONS / f"{qid}.py", folder / f"{qid}.py")
    snippet = (HOSTILE / case.question / f"{name}.py").read_text().replace("GRADER_PORT = 0", f"GRADER_PORT = {port}")
    snippet = snippet.replace('GRADED = ""', f"GRADED = {str(root / 'graded')!r}")
    snippet = snippet.replace('SUBMITTED = ""', f"SUBMITTED = {str(folder)!r}")
    with open(folder / f"{case.question}.py", "a") as module:
        module.write(f"\n\n# ---- hostile part: {name} ----\n{snippet}")
    return folder


def nested_zip(root: Path) -> Path:
    """The reference files zipped inside two folders, plus a stray older copy deeper down."""
    path = root / "alice.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for qid in QUESTIONS:
            archive.write(SOLUTIONS / f"{qid}.py", f"alice/homework/{qid}.py")
        archive.writestr("alice/homework/old/q8_output_size.py", "this file is not Python\n")
        archive.writestr("__MACOSX/alice/._q8_output_size.py", "resource fork junk")
    return path


def write_config(folder: Path, **limits) -> Path:
    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    settings["limits"].update(limits)
    settings["hypothesis"]["max_examples"] = 5
    path = folder / "grading.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture(scope="session")
def listener():
    """A server on the grading machine that no student code should reach."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


@pytest.fixture(scope="session")
def batch(tmp_path_factory, listener):
    """Every case, the nested zip and the perfect example, graded together in one batch (2 jobs)."""
    root = tmp_path_factory.mktemp("hostile")
    config_path = write_config(root, **LIMITS)
    port = listener.getsockname()[1]
    sources = [grade.EXAMPLES / "perfect", nested_zip(root)]
    sources += [make_submission(root, name, CASES[name], port) for name in GRADED]
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with watching_graders() as graders:
        graded = grade_batch(sources, root / "graded", load_config(config_path), config_path, QUESTIONS, jobs=2,
                             tests=PUBLIC_TESTS)
    leftovers = workers_of(graders)  # now, before a grader's pid (hence its workers' user) can be reused
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(f"\nhostile batch: {len(sources)} submissions in {time.monotonic() - started:.0f} s "
          f"({cpu_seconds:.0f} s of CPU)")
    return {g.name: g for g in graded}, root / "graded", {"graders": graders, "leftover workers": leftovers}


def outcomes_of(graded, question: str) -> dict[str, dict]:
    return {t["name"]: t for t in graded.results["tests"] if t["name"].startswith(f"{question} ›")}


def test_every_submission_gets_results_a_gradebook_row_and_no_grader_error(batch):
    graded, out, _ = batch
    rows = {row["submission"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert set(rows) == set(graded) == {"perfect", "alice", *GRADED}
    for name, g in graded.items():
        assert json.loads((out / name / "results.json").read_text())["tests"], name
        assert float(rows[name]["score"]) == g.results["score"]
        assert rows[name]["sandbox"] == LEVEL, name
        assert g.status == "ok", f"{name}: {g.status}"
        assert all("internal error" not in t["output"] for t in g.results["tests"]), name


def test_the_perfect_example_and_the_nested_zip_keep_full_marks(batch):
    graded = batch[0]
    for name in ("perfect", "alice"):
        assert graded[name].results["score"] == graded[name].results["max_score"] == 20, name
    assert "graded alice/homework/q8_output_size.py; ignored alice/homework/old/q8_output_size.py" in \
        graded["alice"].results["output"]


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_submission_loses_only_what_it_breaks_with_an_honest_message(batch, name):
    if name not in GRADED:
        pytest.skip(f"needs the sandbox level {CASES[name].needs!r}; this machine gives {LEVEL!r}")
    case, graded = CASES[name], batch[0][name]
    broken = outcomes_of(graded, case.question)
    failed = {test: t["output"] for test, t in broken.items() if t["status"] == "failed"}
    assert failed, f"{name} lost no test"
    for test, output in failed.items():
        assert re.search(case.affects, test), f"{name}: {test} failed but should not be affected:\n{output}"
        assert case.message is None or case.message in output, f"{name}: {test} says:\n{output}"
    other = next(q for q in QUESTIONS if q != case.question)
    scores = graded.results["extra_data"]["questions"]
    assert scores[other]["score"] == scores[other]["max_score"], f"{name} lost points on {other}"


def test_monkeypatching_checkers_in_the_worker_changes_no_verdict(batch):
    """The same wrong leaky_relu with and without patched torch, builtins and pytest: patching passes nothing."""
    graded = batch[0]
    control, patched = graded["returns_wrong_values"], graded["monkeypatches_the_checks"]
    failed = {name: {t for t, v in outcomes_of(g, "q2_relu").items() if v["status"] == "failed"}
              for name, g in (("control", control), ("patched", patched))}
    assert failed["control"] and failed["control"] <= failed["patched"]
    assert patched.results["score"] <= control.results["score"]


@pytest.mark.skipif(not AS_OWN_USER, reason=ROOT_ONLY)
def test_hidden_tests_solutions_and_grader_files_cannot_be_read(batch):
    graded, out, _ = batch
    hidden = (KIT_ROOT / "assignments" / "q8_output_size" / "test_hidden.py").read_text().splitlines()[0]
    for name, g in graded.items():
        for report in ("results.json", "feedback.md"):
            assert hidden not in (out / name / report).read_text(), f"{name}: the hidden tests leaked into {report}"
    for output in (t["output"] for t in outcomes_of(graded["reads_hidden_material"], "q8_output_size").values()
                   if t["status"] == "failed"):
        attempts = ATTEMPT.findall(output)
        assert len(attempts) == 9, output
        for path, what in attempts:
            assert what in ("No such file or directory", "Permission denied"), f"{path}: {what}"


@pytest.mark.skipif(not AS_OWN_USER, reason=ROOT_ONLY)
def test_the_results_folder_and_the_kit_cannot_be_written(batch):
    graded, out, _ = batch
    planted = [KIT_ROOT / "autograder" / "hostile_was_here.py", KIT_ROOT / "assignments" / "q8_output_size" / "hostile_was_here.py"]
    leftovers = [p for p in planted if p.exists()]
    for path in leftovers:
        path.unlink()
    assert not leftovers, f"student code wrote {leftovers}"
    outputs = [t["output"] for t in outcomes_of(graded["writes_into_the_grader"], "q8_output_size").values()
               if t["status"] == "failed"]
    assert outputs
    for output in outputs:
        attempts = ATTEMPT.findall(output)
        assert len(attempts) == 3, output
        for path, what in attempts:
            assert what in ("No such file or directory", "Read-only file system", "Permission denied"), path
    results = json.loads((out / "writes_into_the_grader" / "results.json").read_text())
    assert results["tests"] and results["score"] < results["max_score"] == 20


@pytest.mark.skipif(LEVEL != isolation.NAMESPACES, reason=NAMESPACES_ONLY)
def test_student_code_reaches_no_network(batch, listener):
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing connected


@pytest.mark.skipif(not AS_OWN_USER, reason=ROOT_ONLY)
def test_student_code_leaves_no_process_behind(batch):
    processes = batch[2]
    assert len(processes["graders"]) == len(batch[0])
    assert processes["leftover workers"] == set()


def test_a_submission_that_outlasts_its_limit_is_stopped_and_still_gets_results(tmp_path, monkeypatch):
    """The batch bound: a submission's grading stops at its limit, whatever the submission does."""
    config_path = write_config(tmp_path, call_seconds=60, submission_seconds=60)
    folder = tmp_path / "hangs_at_import"
    folder.mkdir()
    (folder / "q8_output_size.py").write_text("while True:\n    pass\n")
    monkeypatch.setattr(grade, "START_SLACK_SECONDS", -52)  # an 8 s limit
    started = time.monotonic()
    with watching_graders() as graders:
        graded = grade_one(folder, "hangs_at_import", tmp_path / "graded", load_config(config_path), config_path,
                           ["q8_output_size"])
    assert time.monotonic() - started < 13
    assert graded.status == "grading took longer than 8 s and was stopped"
    results = json.loads((tmp_path / "graded" / "hangs_at_import" / "results.json").read_text())
    assert results["score"] == 0 and "could not be graded: grading took longer than 8 s" in results["output"]
    assert len(graders) == 1 and workers_of(graders) == set()
    assert not list(Path(tempfile.gettempdir()).glob(f"{isolation.home_prefix(graders.pop())}*"))  # no sandbox left


ON_A_CLUSTER = ("perfect", "wrong_return_type", "loops_forever", "calls_os_exit", "forks_without_end")


def test_a_local_dask_cluster_grades_exactly_as_two_local_jobs(batch, dask_client, tmp_path):
    """The same submissions, the same settings and tests: graded in Dask tasks (`--cluster local --workers 2`),
    the results are those of the batch above (`--jobs 2`) but for the timing; a missing file too."""
    graded, out, _ = batch
    missing = tmp_path / "missing"
    missing.mkdir()
    shutil.copy(SOLUTIONS / "q2_relu.py", missing)
    sources = {name: graded[name].source for name in ON_A_CLUSTER if name in graded}
    on_cluster = grade_on(dask_client, {**sources, "missing": missing}, tmp_path / "graded", out.parent / "grading.yml",
                          QUESTIONS, PUBLIC_TESTS)
    assert set(on_cluster) == {*sources, "missing"}
    for name in sources:
        assert on_cluster[name].status == "ok", name
        assert without_timing(on_cluster[name].results) == without_timing(graded[name].results), name
        assert (tmp_path / "graded" / name / "feedback.md").read_text() == (out / name / "feedback.md").read_text()
    questions = on_cluster["missing"].results["extra_data"]["questions"]
    assert questions["q2_relu"]["score"] == questions["q2_relu"]["max_score"] and questions["q8_output_size"]["score"] == 0
    assert "Missing: q8_output_size.py" in on_cluster["missing"].results["output"]
