"""The kit tests' local Dask cluster (two workers, a thread each), shared by every test that grades on it."""
from pathlib import Path

import pytest
from distributed import Client

from autograder.batches.inputs import Submission
from autograder.batches.clusters import start_cluster
from autograder.course.config import load_config
from autograder.batches.dask_grading import DaskExecutor
from autograder.batches.grade import Graded, Job, grade_work

TIMING = ("execution_time",)


@pytest.fixture(scope="session")
def dask_client():
    """A client of a local cluster; its workers' grading servers stay warm from one test to the next."""
    with start_cluster("local", 2) as cluster, Client(cluster) as client:
        yield client


def grade_on(client, sources: dict[str, Path], out: Path, config_path: Path, questions: list[str],
             tests: list[str] | None = None) -> dict[str, Graded]:
    """Grade sources on the cluster as `autograder grade --scheduler` does."""
    work = [Job(Submission(name, path), questions) for name, path in sources.items()]
    outcome = grade_work(work, out, load_config(config_path), config_path, tests=tests, figures=False,
                         executor=DaskExecutor(client, config_path))
    return {g.name: g for g in outcome.graded}


def without_timing(results: dict) -> dict:
    return {key: value for key, value in results.items() if key not in TIMING}


def kill_worker(task: dict) -> dict:
    """A task that ends its Dask worker's process, as student code at the sandbox level none could."""
    import os
    os._exit(1)
