"""autograder.batches.clusters: each batch system's job script, the example configs, one-line errors, a LocalCluster."""
from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from autograder.batches.clusters import ClusterError, job_script, load_cluster_config, start_cluster
from autograder.course.config import KIT_ROOT

EXAMPLES = KIT_ROOT / "examples" / "clusters"
PROLOGUE = "source /opt/kit/.venv/bin/activate"
WORKER = "-m distributed.cli.dask_worker tcp://"  # the worker command dask-jobqueue 0.9 writes
# kind -> (a line of its directive syntax, how its header asks for the 4 GiB); SGE's header has no memory
HEADERS = {"slurm": ("#SBATCH -t 00:20:00", "#SBATCH --mem=4G"),
           "pbs": ("#PBS -l walltime=00:20:00", "#PBS -l select=1:ncpus=2:mem=4096MB"),
           "sge": ("#$ -l h_rt=00:20:00", None),
           "lsf": ("#BSUB -W 00:20", "#BSUB -M 4294968"),
           "htcondor": ("Executable = /bin/sh", "MY.DaskWorkerMemory = 4294967296")}
JOBQUEUE_KINDS = tuple(HEADERS)
needs_jobqueue = pytest.mark.skipif(find_spec("dask_jobqueue") is None, reason='needs pip install -e ".[cluster]"')
needs_distributed = pytest.mark.skipif(find_spec("distributed") is None, reason='needs pip install -e ".[cluster]"')


def write(tmp_path: Path, text: str, name: str = "cluster.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def small_config(tmp_path: Path, kind: str, extra: str = "") -> Path:
    size = "disk: 1GiB\n" if kind == "htcondor" else "walltime: '00:20:00'\n"  # HTCondorCluster has no walltime
    return write(tmp_path, f"cores: 2\nmemory: 4GiB\n{size}job_script_prologue: [{PROLOGUE!r}]\n{extra}")


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ClusterError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@needs_jobqueue
@pytest.mark.parametrize("kind", JOBQUEUE_KINDS)
def test_a_job_script_runs_the_worker_with_one_thread_after_the_prologue(tmp_path, kind):
    script = job_script(kind, small_config(tmp_path, kind))
    directive, memory = HEADERS[kind]
    assert WORKER in script and "--nthreads 1 " in script and "--memory-limit 4.00GiB" in script
    assert directive in script and (memory is None or memory in script)
    assert script.index(PROLOGUE) < script.index(WORKER)
    assert "GPU" not in script and "gres" not in script and "--nworkers" not in script


@needs_jobqueue
@pytest.mark.parametrize("kind", JOBQUEUE_KINDS)
def test_a_gpu_worker_advertises_the_gpu_resource(tmp_path, kind):
    script = job_script(kind, small_config(tmp_path, kind), gpus_per_worker=1)
    assert re.search(r"--resources GPU=1\b", script)
    if kind == "slurm":
        assert "\n#SBATCH --gres=gpu:1\n" in script
    if kind == "htcondor":
        assert "\nrequest_gpus = 1\n" in script


@needs_jobqueue
def test_gpus_join_the_users_own_resources_and_gpu_directive(tmp_path):
    extra = "worker_extra_args: [--resources, MEMORY=8e9]\njob_extra_directives: [--gpus-per-task=2]\n"
    script = job_script("slurm", small_config(tmp_path, "slurm", extra), gpus_per_worker=2, threads_per_worker=3)
    assert "--resources MEMORY=8e9,GPU=2" in script and "--nthreads 3 " in script
    assert "#SBATCH --gpus-per-task=2" in script and "gres" not in script


@needs_jobqueue
@pytest.mark.parametrize("kind, lines", [
    ("slurm", ["#SBATCH -p cpu", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=16G", "#SBATCH -t 01:00:00"]),
    ("pbs", ["#PBS -q workq", "#PBS -l select=1:ncpus=4:mem=16GB", "#PBS -l walltime=01:00:00"])])
def test_the_example_configs_load_and_make_a_script(kind, lines):
    path = EXAMPLES / f"{kind}.yml"
    config = load_cluster_config(kind, path)
    assert (config["cores"], config["memory"], config["walltime"]) == (4, "16GiB", "01:00:00")
    script = job_script(kind, path)
    assert all(line in script.splitlines() for line in lines), script
    assert "source /home/ta/cnn-exercise-kit/.venv/bin/activate" in script and "\npython " + WORKER in script


@needs_jobqueue
def test_a_job_script_leaves_no_scheduler_running(tmp_path):
    before = set(threading.enumerate())
    script = job_script("slurm", small_config(tmp_path, "slurm"))
    host, port = re.search(r"tcp://([\d.]+):(\d+)", script).groups()
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=2):
        pass


@needs_jobqueue
@pytest.mark.parametrize("kind, text, expected", [
    ("slurm", "cores: 2\nmemory: 4GiB\nqueu: cpu\n", "unknown key 'queu' for SLURMCluster; did you mean 'queue'?"),
    ("pbs", "cores: 2\nmemory: 4GiB\njob-script-prologue: []\n", "did you mean 'job_script_prologue'?"),
    ("slurm", "cores: 2\nmemory: 4GiB\nenv_extra: []\n", "'env_extra' is not for the kit's SLURMCluster; use "
                                                         "job_script_prologue instead"),
    ("sge", "cores: 2\nmemory: 4GiB\ndisk: 1GiB\n", "unknown key 'disk' for SGECluster; the accepted keys are "),
    ("slurm", "memory: 4GiB\n", "set cores for each job (e.g. cores: 4)"),
    ("lsf", "queue: short\n", "set cores and memory for each job (e.g. cores: 4, memory: 16GiB)"),
    ("htcondor", "cores: 2\nmemory: 4GiB\n", "set disk for each job (e.g. disk: 10GiB)"),
    ("slurm", "cores: 2\nmemory: lots\n", "memory 'lots' is not a size; write it like 16GiB"),
    ("slurm", "cores: two\nmemory: 4GiB\n", "cores must be a whole number of at least 1 (got 'two')"),
    ("slurm", "cores: 2\nmemory: 4GiB\nwalltime: 12:00:00\n", "walltime 43200 is not a time; quote it"),
    ("slurm", "cores: 2\nmemory: 4GiB\njob_script_prologue: source venv/bin/activate\n",
     "job_script_prologue must be a YAML list with one line per item"),
    ("slurm", "cores: [2\n", "not valid YAML at line 2 ("),
    ("slurm", "- cores: 2\n", "a cluster config must be a YAML mapping of SLURMCluster settings (key: value lines), "
                              "but it is a list"),
    ("pbs", "", "but it is empty"),
])
def test_a_bad_config_is_one_line_naming_the_file_and_the_fix(tmp_path, kind, text, expected):
    path = write(tmp_path, text)
    message = refused(job_script, kind, path)
    assert message.startswith(f"{path}: ") and expected in message, message


def test_an_unreadable_config_is_one_line(tmp_path):
    path = tmp_path / "missing.yml"
    message = refused(load_cluster_config, "slurm", path)
    assert message == f"{path}: cannot read the cluster config (No such file or directory); check the " \
                      "--cluster-config path"


def test_local_takes_no_config_and_a_batch_system_needs_one(tmp_path):
    path = small_config(tmp_path, "slurm")
    assert refused(start_cluster, "local", 2, path).startswith(f"--cluster-config {path} is for a batch system; "
                                                               "--cluster local takes none")
    assert refused(job_script, "slurm", None).startswith("--cluster slurm needs --cluster-config FILE")
    assert refused(job_script, "local", None).startswith("--cluster local submits no batch jobs")


def test_bad_flags_are_one_line():
    assert refused(start_cluster, "slurmm", 1) == ("unknown --cluster 'slurmm'; did you mean 'slurm'? choose one of "
                                                   "local, slurm, pbs, sge, lsf, htcondor")
    assert refused(start_cluster, "local", 0).startswith("--workers must be a whole number of at least 1")


@pytest.mark.parametrize("module, call", [("dask_jobqueue", lambda: job_script("slurm", EXAMPLES / "slurm.yml")),
                                          ("distributed", lambda: start_cluster("local", 1))])
def test_a_missing_package_says_what_to_install(monkeypatch, module, call):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail as if it were not installed
    assert 'is not installed; run pip install -e ".[cluster]"' in refused(call)


@needs_jobqueue
def test_a_batch_cluster_needs_its_submit_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    before = set(threading.enumerate())
    message = refused(start_cluster, "slurm", 2, EXAMPLES / "slurm.yml")
    assert message.startswith("--cluster slurm: sbatch is not on PATH; run autograder grade where slurm jobs")
    assert set(threading.enumerate()) - before == set()


@needs_jobqueue
def test_a_slurm_cluster_submits_one_job_per_worker_and_cancels_them_on_close(tmp_path, monkeypatch):
    bin_dir, jobs = tmp_path / "bin", tmp_path / "jobs"
    bin_dir.mkdir(), jobs.mkdir()
    fake(bin_dir / "sbatch", f'cp "$1" {jobs}/$$.sh; echo "Submitted batch job $$"')
    fake(bin_dir / "scancel", f'echo "$@" >> {jobs}/cancelled')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    cluster = start_cluster("slurm", 2, small_config(tmp_path, "slurm"), gpus_per_worker=1)
    try:
        scripts = wait_for(lambda: sorted(jobs.glob("*.sh")), 2)
    finally:
        cluster.close()
    assert all("--nthreads 1 " in path.read_text() and "#SBATCH --gres=gpu:1" in path.read_text()
               for path in scripts)
    assert sorted((jobs / "cancelled").read_text().split()) == sorted(path.stem for path in scripts)


def fake(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def wait_for(found, count: int, seconds: float = 10) -> list:
    deadline = time.monotonic() + seconds
    while len(items := found()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(items) == count, items
    return items


@needs_distributed
@pytest.mark.parametrize("gpus, resources", [(0, {}), (1, {"GPU": 1})])
def test_a_local_cluster_has_its_workers_and_their_gpus(gpus, resources):
    from distributed import Client

    cluster = start_cluster("local", 2, gpus_per_worker=gpus)
    try:
        with Client(cluster) as client:
            workers = client.scheduler_info()["workers"].values()
            assert [(w["nthreads"], w["resources"]) for w in workers] == [(1, resources)] * 2
    finally:
        cluster.close()
    assert cluster.status.name == "closed"
