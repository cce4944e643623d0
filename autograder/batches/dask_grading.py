"""Grading on a Dask cluster: one task per submission, graded by the warm grading servers of the worker it runs on."""
from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from concurrent.futures import Future
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from autograder.course.config import KIT_ROOT, load_config
from autograder.batches.forkserver import ForkServers
from autograder.batches.manifest import tests_hash
from autograder.grading.submission import IGNORED_PARTS, MAX_UNZIPPED_BYTES, SubmissionError, unpack

PLUGIN = "autograder-grading"
INLINE_BYTES = 1 << 20  # a submission up to this size travels inside its task
KIT_DIFFERS = ("this worker's kit is not the grading machine's (its tests, course settings or engine differ): "
               "install the same version of the kit on every worker")


class GradingPlugin(WorkerPlugin):
    """A Dask worker plugin: the worker's warm fork servers (started with fork+exec: a Dask worker is
    multi-threaded and must never fork itself), one per worker thread; student code runs in their children."""

    name = PLUGIN
    idempotent = True

    def setup(self, worker) -> None:
        gpus = int(worker.state.total_resources.get("GPU", 0))
        if gpus and "CUDA_VISIBLE_DEVICES" not in os.environ:  # a scheduler (Slurm) may have pinned it already
            os.environ["CUDA_VISIBLE_DEVICES"] = pinned_gpus(worker.name, gpus)
        self.servers = ForkServers(worker.state.nthreads)  # they inherit CUDA_VISIBLE_DEVICES, the zygote too

    def teardown(self, worker) -> None:
        self.servers.__exit__(None, None, None)


def gpu_count() -> int:
    """NVIDIA GPUs of this machine, from the driver (no CUDA initialised: this process may fork)."""
    driver = Path("/proc/driver/nvidia/gpus")
    return len(list(driver.iterdir())) if driver.is_dir() else 0


def pinned_gpus(worker_name, per_worker: int) -> str:
    """The GPUs of the worker numbered worker_name (a LocalCluster names them 0, 1, ...) among this machine's."""
    count = max(1, gpu_count())
    index = int(worker_name) if str(worker_name).isdigit() else 0
    return ",".join(str((index * per_worker + i) % count) for i in range(per_worker))


def pack(source: Path, names: set[str]) -> tuple[str, bytes]:
    """A submission as (file name, bytes) to send with its task: a zip as it is; of a folder, every copy of the files
    the grader looks for (names), zipped here, links kept as links: the worker refuses those that lead outside, as
    local grading does. The rest of a folder (data, notes, caches) is never read by the grader, so it stays here."""
    if source.is_file():
        if source.stat().st_size > MAX_UNZIPPED_BYTES:
            raise too_large(source, source.stat().st_size)
        return source.name, source.read_bytes()
    wanted = [p for p in sorted(source.rglob("*")) if p.name in names and not IGNORED_PARTS & set(p.parts)]
    size = sum(p.stat().st_size for p in wanted if p.is_file() and not p.is_symlink())
    if size > MAX_UNZIPPED_BYTES:
        raise too_large(source, size)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # checkpoints do not compress: no CPU spent
        for path in wanted:
            relative = path.relative_to(source).as_posix()
            if path.is_symlink():
                member = zipfile.ZipInfo(relative)
                member.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(member, os.readlink(path))
            elif path.is_file():
                archive.write(path, relative)
    return source.name + "/", buffer.getvalue()


def too_large(source: Path, size: int) -> SubmissionError:
    return SubmissionError(f"{source.name}: {size >> 20} MiB, too large to send to the cluster's workers (at most "
                           f"{MAX_UNZIPPED_BYTES >> 20} MiB); submit the state_dict only, without other files.")


def grade_task(task: dict) -> dict:
    """On a Dask worker: grade one submission (sent as bytes) in this worker's grading servers; return the files
    of its result folder (results.json, feedback.md, grader.log, figures) for the grading machine to write."""
    from distributed import get_worker

    from autograder.batches.grade import grade_one

    worker = get_worker()
    with tempfile.TemporaryDirectory(prefix="autograder-task-") as folder:
        root = Path(folder)
        config_path = root / task["config_name"]
        config_path.write_text(task["config_text"])
        if tests_hash(task["questions"], config_path) != task["tests_hash"]:
            return {"error": KIT_DIFFERS, "worker": worker.address}
        source = root / "submission" / task["file_name"].rstrip("/")
        source.parent.mkdir()
        if task["file_name"].endswith("/"):  # a folder, zipped to travel
            archive = root / "folder.zip"
            archive.write_bytes(task["data"])
            source.mkdir()
            unpack(archive, source)
        else:
            source.write_bytes(task["data"])
        out = root / "out"
        tests = [str(KIT_ROOT / name) for name in task["test_files"]] if task["test_files"] else None
        graded = grade_one(source, task["name"], out, load_config(config_path), config_path, task["questions"],
                           tests, worker.plugins[PLUGIN].servers)
        files = {p.relative_to(out / task["name"]).as_posix(): p.read_bytes()
                 for p in sorted((out / task["name"]).rglob("*")) if p.is_file()}
        return {"status": graded.status, "files": files, "worker": worker.address}


def expected_files(config, questions: list[str]) -> set[str]:
    """The file names grading these questions looks for: their code and checkpoints, and those they compare with."""
    return {name for qid in config.with_compared(questions)
            for name in (f"{qid}.py", *config.questions[qid].checkpoints)}


class DaskExecutor:
    """Submits one task per submission to a Dask cluster and turns each answer into a graded result here, in
    the output folder, as local grading would have written it."""

    task = staticmethod(grade_task)  # what runs on the worker (a kit test swaps in one that kills it)

    def __init__(self, client, config_path: Path, resources: dict | None = None):
        self.client, self.resources = client, resources or None
        self.config_name, self.config_text = config_path.name, config_path.read_text()
        self.futures: list = []
        client.register_plugin(GradingPlugin(), name=PLUGIN)

    def submit(self, job, entry, out: Path, config, config_path: Path, tests, stop) -> Future:
        from distributed import KilledWorker

        from autograder.batches.grade import write_result
        from autograder.grading.results import broken_results

        graded: Future = Future()
        try:
            name, data = pack(job.submission.source, expected_files(config, job.questions))
        except SubmissionError as exc:  # too large to send: that submission's row says so, the batch goes on
            results = broken_results(config, job.questions, str(exc), 0.0)
            graded.set_result(write_result(out, job.submission, job.questions, {}, results, str(exc)))
            return graded
        if len(data) > INLINE_BYTES:  # sent ahead, apart from the task graph (Dask's advice for large data)
            data = self.client.scatter(data, hash=False)
        task = {"name": job.submission.name, "file_name": name, "data": data, "questions": job.questions,
                "tests_hash": entry.tests, "config_name": self.config_name, "config_text": self.config_text,
                "test_files": [str(Path(t).resolve().relative_to(KIT_ROOT)) for t in tests] if tests else None}
        key = f"grade-{job.submission.name}-{entry.content[:16]}"  # per submission: equal files are still two tasks
        remote = self.client.submit(self.task, task, key=key, resources=self.resources, pure=False)
        self.futures.append(remote)

        def collect(remote) -> None:
            if not graded.set_running_or_notify_cancel():  # the batch was interrupted and let it go
                return
            if remote.status == "cancelled" or stop.is_set():
                graded.set_result(None)
                return
            try:
                answer = remote.result()
                problem = answer.get("error")
            except KilledWorker as exc:
                answer, problem = {}, f"infrastructure error: the grading machine was lost while grading it ({exc})"
            except Exception as exc:  # noqa: BLE001 - any failure of the cluster is one row, never the batch
                answer, problem = {}, f"infrastructure error: {type(exc).__name__}: {exc}"
            if problem:
                results = broken_results(config, job.questions, problem, 0.0)
                files = {"grader.log": f"{problem}\n".encode()}
            else:
                files = answer["files"]
                results = None
            graded.set_result(write_result(out, job.submission, job.questions, files, results,
                                           problem or answer["status"]))

        remote.add_done_callback(collect)
        return graded

    def stop(self) -> None:
        """Cancel every task not finished (those running end on their worker; nothing of theirs is written)."""
        self.client.cancel(self.futures)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None
