"""Warm grading: forks of a fork server grade like cold pytest processes, and warm workers fall back cold."""
import array
import json
import os
import socket
import time

import pytest

from autograder.sandbox import errors
from autograder.batches import grade
from autograder.course.config import DEFAULT_CONFIG, Limits, load_config
from autograder.course.layout import question_test_files
from autograder.batches.grade import default_submissions, grade_batch
from autograder.grading.results import graded_tests
from autograder.sandbox.supervisor import Sandbox
from autograder.sandbox.zygote import ZYGOTE_ENV, ForkedWorker, Zygote
from hostile.processes import watching_graders, workers_of

pytestmark = pytest.mark.slow

QUESTIONS = ["q2_relu", "q8_output_size"]
PUBLIC_TESTS = [str(p) for p in question_test_files(QUESTIONS, ("public",))]
STUDENT_CODE = "import os\n\ndef ok():\n    return 1\n\ndef leave():\n    os._exit(3)\n"


def outcomes(graded) -> dict:
    return {g.name: (g.results["score"], g.status, sorted((t["name"], t["status"]) for t in graded_tests(g.results)))
            for g in graded}


def test_a_warm_batch_gives_the_examples_the_scores_of_one_cold_pytest_each(tmp_path):
    config = load_config(DEFAULT_CONFIG)
    warm, cold = (grade_batch(default_submissions(), tmp_path / kind, config, DEFAULT_CONFIG, QUESTIONS, jobs=2,
                              tests=PUBLIC_TESTS, warm=kind == "warm") for kind in ("warm", "cold"))
    assert outcomes(warm) == outcomes(cold)
    assert {g.name: g.results["score"] for g in warm}["perfect"] == 20


@pytest.fixture
def zygote(monkeypatch):
    started = Zygote()
    monkeypatch.setenv(ZYGOTE_ENV, started.path)
    yield started
    started.close()


@pytest.fixture
def sandbox(tmp_path):
    (tmp_path / "code.py").write_text(STUDENT_CODE)
    with Sandbox({"code.py": tmp_path / "code.py"}, Limits(call_seconds=60)) as opened:
        yield opened


def call(sandbox, name):
    return sandbox.request("call", f"{name}()", target="code", attr=name, args=(), kwargs={})


def test_a_warm_worker_that_dies_is_replaced_by_another_warm_one(zygote, sandbox):
    assert call(sandbox, "ok") == 1 and isinstance(sandbox.process, ForkedWorker)
    with pytest.raises(errors.WorkerCrashed, match=r"exit status 3"):
        call(sandbox, "leave")
    started = time.monotonic()
    assert call(sandbox, "ok") == 1 and isinstance(sandbox.process, ForkedWorker)
    assert time.monotonic() - started < 20


def test_when_the_zygote_dies_its_worker_fails_that_call_and_the_next_starts_cold(zygote, sandbox):
    assert call(sandbox, "ok") == 1 and isinstance(sandbox.process, ForkedWorker)
    zygote.process.kill()
    zygote.process.wait()
    with pytest.raises(errors.SandboxError):
        call(sandbox, "ok")  # its worker died with it
    assert call(sandbox, "ok") == 1 and not isinstance(sandbox.process, ForkedWorker)


def test_a_submission_that_kills_its_grading_process_still_gets_results_and_the_batch_goes_on(tmp_path):
    folder = tmp_path / "kills_parents"
    folder.mkdir()
    (folder / "q8_output_size.py").write_text(
        "import os, signal\n\ndef conv_output_size(*args, **kwargs):\n"
        "    for pid in (os.getppid(), os.getpgid(0)):\n"
        "        try:\n            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n"
        "    return 0\n")
    sources = [folder, grade.EXAMPLES / "perfect"]
    tests = [str(p) for p in question_test_files(["q8_output_size"], ("public",))]
    with watching_graders() as graders:
        graded = {g.name: g for g in grade_batch(sources, tmp_path / "graded", load_config(DEFAULT_CONFIG),
                                                 DEFAULT_CONFIG, ["q8_output_size"], jobs=1, tests=tests)}
    assert workers_of(graders) == set()
    assert graded["kills_parents"].results["score"] < 10
    assert graded["perfect"].results["score"] == 10 and graded["perfect"].status == "ok"
    for name in graded:
        assert json.loads((tmp_path / "graded" / name / "results.json").read_text())["max_score"] == 10


def test_a_warm_grading_process_that_outlasts_its_limit_is_stopped_and_still_gets_results(tmp_path, monkeypatch):
    folder = tmp_path / "hangs_at_import"
    folder.mkdir()
    (folder / "q8_output_size.py").write_text("while True:\n    pass\n")
    config = load_config(DEFAULT_CONFIG)
    monkeypatch.setattr(grade, "START_SLACK_SECONDS", 8 - config.limits.submission_seconds)
    with watching_graders() as graders:
        [graded] = grade_batch([folder], tmp_path / "graded", config, DEFAULT_CONFIG, ["q8_output_size"],
                               tests=[str(p) for p in question_test_files(["q8_output_size"], ("public",))])
    assert graded.status == "grading took longer than 8 s and was stopped"
    assert graded.results["score"] == 0
    assert len(graders) == 1 and workers_of(graders) == set()
    assert not [pid for pid in graders if os.path.exists(f"/proc/{pid}")]


def test_the_zygote_outlives_a_grader_killed_with_a_reply_unread():
    """A grading run killed (Ctrl-C, a time limit) after its worker ended leaves the zygote's status line unread:
    the zygote then reads a reset, not an end of file, and must go on serving the batch's other workers."""
    zygote = Zygote()
    try:
        for _ in range(2):
            pipes = [os.pipe() for _ in range(3)]
            grader = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            grader.connect(zygote.path)
            grader.sendmsg([json.dumps({"settings": {}, "env": {}}).encode()],  # a worker that fails at once
                           [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [pipes[0][0], pipes[1][1],
                                                                                     pipes[2][1]]))])
            assert b'"pid"' in grader.recv(4096)
            time.sleep(1)  # the worker has ended and the zygote has written its status, which nobody reads
            grader.close()
            for fd in (fd for pair in pipes for fd in pair):
                os.close(fd)
            time.sleep(0.5)
            assert zygote.process.poll() is None, "the zygote died of a grader's reset"
    finally:
        zygote.close()
