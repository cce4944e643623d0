"""A fake multi-node cluster: `dask scheduler` and two `dask worker` processes, each in a working folder of its own,
grade a batch sent by `autograder grade --scheduler`; a worker killed in the middle costs no submission."""
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import pytest
import yaml
from distributed import Client

from autograder.batches.inputs import Submission
from autograder.batches.clusters import start_cluster
from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.grading.environment import pytest_env
from autograder.batches.dask_grading import DaskExecutor
from autograder.batches.grade import EXAMPLES, Job, grade_work
from dask_cluster import kill_worker

pytestmark = pytest.mark.slow

Q8 = "q8_output_size.py"
KINDS = {"perfect": KIT_ROOT / "solutions" / Q8, "wrong": EXAMPLES / "partly_wrong" / Q8,
         "stubs": KIT_ROOT / "student_template" / Q8}
STUDENTS = {f"{kind}-{i}": source for i in range(2) for kind, source in KINDS.items()}  # six students
SCORES = {"perfect": (10, 10), "wrong": (0.01, 9.99), "stubs": (0, 0)}  # the q8 part of the layers assignment


def start(command: list[str], folder: Path, log: str) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / log, "w") as output:
        return subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT, env=pytest_env(),
                                stdin=subprocess.DEVNULL)


@pytest.fixture
def fake_cluster(tmp_path):
    """(scheduler address, [worker processes]): three processes, as on three machines, sharing no folder."""
    scheduler_file = tmp_path / "scheduler" / "scheduler.json"
    python = [sys.executable, "-m"]
    processes = [start([*python, "distributed.cli.dask_scheduler", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(scheduler_file)], tmp_path / "scheduler", "log")]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    for i in (1, 2):  # no nanny: a killed worker stays dead, as a lost machine does
        processes.append(start([*python, "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                                "--no-dashboard", "--local-directory", str(tmp_path / f"node{i}" / "dask"),
                                "--name", f"node{i}"], tmp_path / f"node{i}", "log"))
    yield address, processes[1:]
    for process in processes:
        process.kill()
        process.wait()


def test_a_scheduler_and_two_workers_grade_a_batch_and_a_lost_worker_costs_nothing(fake_cluster, tmp_path):
    address, workers = fake_cluster
    subs = tmp_path / "submissions"
    for name, source in STUDENTS.items():
        (subs / name).mkdir(parents=True)
        shutil.copy(source, subs / name / Q8)
    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    settings["hypothesis"]["max_examples"] = 5
    config = tmp_path / "grading.yml"
    config.write_text(yaml.safe_dump(settings))
    base = [sys.executable, "-m", "autograder.cli", "grade", str(subs), "--config", str(config), "--scheduler", address]

    started = time.monotonic()  # a request no worker can satisfy fails at once, naming the fix
    no_gpu = subprocess.run([*base, "--out", str(tmp_path / "gpu"), "--gpus-per-submission", "1"], cwd=tmp_path,
                            capture_output=True, text=True, env=pytest_env(), timeout=120)
    assert no_gpu.returncode == 2 and time.monotonic() - started < 30
    assert "no worker of the cluster offers that many GPUs (2 worker(s)" in no_gpu.stderr
    assert "--resources GPU=1" in no_gpu.stderr.splitlines()[-1]

    out = tmp_path / "out"
    with open(tmp_path / "stderr", "w") as stderr:
        batch = subprocess.Popen([*base, "--out", str(out)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr,
                                 env=pytest_env(), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not (out / "manifest.json").exists() and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)  # node1 is lost with the submission it was grading
        code = batch.wait(timeout=600)
    log = (tmp_path / "stderr").read_text()
    assert code == 0, log[-3000:]
    assert workers[0].wait(timeout=10) == -signal.SIGKILL and workers[1].poll() is None
    manifest = json.loads((out / "manifest.json").read_text())["submissions"]
    assert sorted(manifest) == sorted(STUDENTS)  # every submission, once
    for name in STUDENTS:
        assert log.count(f"graded {name}:") == 1, name  # written once, though node1 died grading one of them
        assert manifest[name]["status"] == "ok", (name, manifest[name]["status"])
        low, high = SCORES[name.split("-")[0]]
        assert low <= manifest[name]["score"] <= high, name
    results = {name: json.loads((out / name / "results.json").read_text()) for name in STUDENTS}
    for kind in KINDS:  # equal submissions, graded on either node, get equal results
        same = [{k: v for k, v in results[f"{kind}-{i}"].items() if k != "execution_time"} for i in range(2)]
        assert same[0] == same[1], kind


def test_a_submission_that_keeps_killing_workers_gets_an_infrastructure_error_row(tmp_path):
    folder = tmp_path / "mallory"
    folder.mkdir()
    shutil.copy(KINDS["perfect"], folder / Q8)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), start_cluster("local", 1) as cluster, \
            Client(cluster) as client:
        executor = DaskExecutor(client, DEFAULT_CONFIG)
        executor.task = kill_worker  # its worker dies twice: once, and on the retry
        outcome = grade_work([Job(Submission("mallory", folder), ["q8_output_size"])], tmp_path / "out", load_config(),
                             DEFAULT_CONFIG, figures=False, executor=executor)
    [graded] = outcome.graded
    assert graded.status.startswith("infrastructure error: the grading machine was lost while grading it")
    results = json.loads((tmp_path / "out" / "mallory" / "results.json").read_text())
    assert results["score"] == 0 and "infrastructure error" in results["output"]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["submissions"]["mallory"]["status"] == \
        graded.status
