"""Dask clusters to grade on: a LocalCluster, or Dask workers submitted as batch jobs through dask-jobqueue."""
from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

CLUSTER_KINDS = ("local", "slurm", "pbs", "sge", "lsf", "htcondor")
JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster",
                    "htcondor": "HTCondorCluster"}
INSTALL = 'pip install -e ".[cluster]"'
EXAMPLES = "examples/clusters/"
REQUIRED = {"htcondor": ("cores", "memory", "disk")}  # HTCondorJob refuses to start without disk
REQUIRED_DEFAULT = ("cores", "memory")
REQUIRED_EXAMPLE = {"cores": "cores: 4", "memory": "memory: 16GiB", "disk": "disk: 10GiB"}
# set by the kit or internal to dask-jobqueue: a config file that sets them would break the kit's cluster
RESERVED = {"self", "n_workers", "job_cls", "loop", "asynchronous", "scheduler", "scheduler_cls", "name",
            "config_name", "silence_logs", "dashboard_address", "host"}
# deprecated or misplaced keys dask-jobqueue 0.9 still accepts (with a FutureWarning) or refuses
MOVED = {"extra": "worker_extra_args", "job_extra": "job_extra_directives", "env_extra": "job_script_prologue",
         "header_skip": "job_directives_skip", "dashboard_address": "scheduler_options: {dashboard_address: ...}",
         "host": "scheduler_options: {host: ...}"}
LIST_KEYS = ("job_extra_directives", "job_script_prologue", "worker_extra_args", "job_directives_skip",
             "submit_command_extra", "cancel_command_extra")
MAPPING_KEYS = ("scheduler_options",)
SIZE_KEYS = ("memory", "disk")
COUNT_KEYS = ("cores", "processes")


class ClusterError(ValueError):
    """A cluster can't be built: the one-line message names the file or flag, the key and the fix."""


def start_cluster(kind: str, workers: int, config_file: Path | None = None, gpus_per_worker: int = 0,
                  threads_per_worker: int = 1) -> Any:
    """A started distributed.LocalCluster or dask-jobqueue cluster, scaled to `workers` Dask workers."""
    kind = _check_kind(kind)
    _check_counts(workers, gpus_per_worker, threads_per_worker)
    if kind == "local":
        load_cluster_config(kind, config_file)
        return _local_cluster(workers, gpus_per_worker, threads_per_worker)
    cluster = _jobqueue_cluster(kind, config_file, gpus_per_worker, threads_per_worker, submit=True)
    try:
        cluster.scale(workers)
    except BaseException:
        cluster.close()
        raise
    return cluster


def job_script(kind: str, config_file: Path | None, gpus_per_worker: int = 0, threads_per_worker: int = 1) -> str:
    """The batch script each worker job runs (the cluster is built, asked, and closed; no job is submitted)."""
    kind = _check_kind(kind)
    _check_counts(1, gpus_per_worker, threads_per_worker)
    if kind == "local":
        raise ClusterError("--cluster local submits no batch jobs; a job script is for "
                           f"{', '.join(JOBQUEUE_CLASSES)}")
    cluster = _jobqueue_cluster(kind, config_file, gpus_per_worker, threads_per_worker, submit=False)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def load_cluster_config(kind: str, path: Path | None) -> dict:
    """The config file's keyword arguments for the kind's dask-jobqueue class, checked; {} for local."""
    kind = _check_kind(kind)
    if kind == "local":
        if path is not None:
            raise ClusterError(f"--cluster-config {path} is for a batch system; --cluster local takes none "
                               f"(drop --cluster-config, or choose --cluster {'|'.join(JOBQUEUE_CLASSES)})")
        return {}
    if path is None:
        raise ClusterError(f"--cluster {kind} needs --cluster-config FILE: a YAML mapping of dask-jobqueue "
                           f"{JOBQUEUE_CLASSES[kind]} settings (see {EXAMPLES})")
    config = _read_yaml(Path(path), kind)
    accepted = _accepted_keys(kind)
    for key in config:
        _check_key(path, kind, key, accepted)
    _check_required(path, kind, config)
    return {key: _checked_value(path, kind, key, value) for key, value in config.items()}


def _check_kind(kind: str) -> str:
    if kind in CLUSTER_KINDS:
        return kind
    close = difflib.get_close_matches(str(kind).lower(), CLUSTER_KINDS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ClusterError(f"unknown --cluster {kind!r}; {hint}choose one of {', '.join(CLUSTER_KINDS)}")


def _check_counts(workers: int, gpus_per_worker: int, threads_per_worker: int) -> None:
    if not isinstance(workers, int) or workers < 1:
        raise ClusterError(f"--workers must be a whole number of at least 1 (got {workers!r})")
    if not isinstance(gpus_per_worker, int) or gpus_per_worker < 0:
        raise ClusterError(f"the GPUs per worker must be a whole number of 0 or more (got {gpus_per_worker!r})")
    if not isinstance(threads_per_worker, int) or threads_per_worker < 1:
        raise ClusterError(f"the threads per worker must be a whole number of at least 1 (got {threads_per_worker!r})")


def _import(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ClusterError(f"{package} is not installed; run {INSTALL} in the kit's folder to grade on a "
                           "Dask cluster") from None


def _local_cluster(workers: int, gpus_per_worker: int, threads_per_worker: int) -> Any:
    distributed = _import("distributed", "distributed")
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=True,
                                    dashboard_address=":0", silence_logs=logging.ERROR,  # None opens 8787
                                    resources={"GPU": gpus_per_worker} if gpus_per_worker else None)


def _jobqueue_class(kind: str) -> type:
    _import("distributed", "distributed")
    return getattr(_import("dask_jobqueue", "dask-jobqueue"), JOBQUEUE_CLASSES[kind])


def _jobqueue_cluster(kind: str, path: Path | None, gpus_per_worker: int, threads_per_worker: int,
                      submit: bool) -> Any:
    config = load_cluster_config(kind, path)
    cls = _jobqueue_class(kind)
    if submit:
        _check_submit_command(kind, cls)
    kwargs = _cluster_kwargs(kind, config, gpus_per_worker)
    try:
        return cls(job_cls=_job_class(cls.job_cls, threads_per_worker), silence_logs=logging.ERROR, **kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise ClusterError(f"{path}: {cls.__name__} refused these settings: {_first_line(exc)}") from None


def _check_submit_command(kind: str, cls: type) -> None:
    command = cls.job_cls.submit_command.split()[0]
    if shutil.which(command) is None:
        raise ClusterError(f"--cluster {kind}: {command} is not on PATH; run autograder grade where {kind} jobs "
                           "are submitted (a login node), or use --scheduler tcp://HOST:8786")


def _job_class(base: type, threads_per_worker: int) -> type:
    # dask-jobqueue derives --nthreads from cores / processes; the kit keeps a job's cores for the grading of
    # a submission (its forks, torch's threads) and runs one submission per worker thread
    return type(base.__name__, (base,), {"worker_process_threads": threads_per_worker, "__module__": __name__})


def _cluster_kwargs(kind: str, config: dict, gpus_per_worker: int) -> dict:
    kwargs = {"processes": 1, **config}
    # any free port for the HTTP server: 8787, dask-jobqueue's default, is often taken on a shared login node
    kwargs["scheduler_options"] = {"dashboard_address": ":0", **config.get("scheduler_options", {})}
    if gpus_per_worker:
        kwargs["worker_extra_args"] = _with_gpu_resource(config.get("worker_extra_args", []), gpus_per_worker)
        directives = _with_gpu_directive(kind, config.get("job_extra_directives"), gpus_per_worker)
        if directives is not None:
            kwargs["job_extra_directives"] = directives
    return kwargs


def _with_gpu_resource(args: list[str], gpus: int) -> list[str]:
    """The worker's arguments with GPU=<gpus> among its --resources (merged into the user's own, if any)."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg == "--resources" and i + 1 < len(args):
            args[i + 1] = _add_gpu(args[i + 1], gpus)
            return args
        if arg.startswith("--resources="):
            args[i] = "--resources=" + _add_gpu(arg.removeprefix("--resources="), gpus)
            return args
    return [*args, "--resources", f"GPU={gpus}"]


def _add_gpu(resources: str, gpus: int) -> str:
    # commas, not spaces: dask-jobqueue joins the worker command unquoted, and dask worker accepts both
    pairs = [pair for pair in resources.replace(",", " ").split() if not pair.startswith("GPU=")]
    return ",".join([*pairs, f"GPU={gpus}"])


def _with_gpu_directive(kind: str, directives: Any, gpus: int) -> Any:
    """Slurm's --gres / HTCondor's request_gpus, unless the config already asks for GPUs its own way."""
    if kind == "slurm":
        directives = list(directives or [])
        if not any(re.search(r"--(gres|gpus)", directive) for directive in directives):
            directives.append(f"--gres=gpu:{gpus}")
    elif kind == "htcondor":
        directives = dict(directives or {})
        if not any(key.lower() == "request_gpus" for key in directives):
            directives["request_gpus"] = gpus
    return directives


def _read_yaml(path: Path, kind: str) -> dict:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise ClusterError(f"{path}: cannot read the cluster config ({reason}); check the --cluster-config path")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ClusterError(f"{path}: not valid YAML{where} ({problem}); fix the file (see {EXAMPLES})") from None
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}"
        raise ClusterError(f"{path}: a cluster config must be a YAML mapping of {JOBQUEUE_CLASSES[kind]} settings "
                           f"(key: value lines), but it is {what}; see {EXAMPLES}")
    return data


def _accepted_keys(kind: str) -> set[str]:
    """The keyword arguments the kind's cluster class and its Job classes take (dask-jobqueue's own lists)."""
    cls = _jobqueue_class(kind)
    job_base = _import("dask_jobqueue.core", "dask-jobqueue").Job
    functions = [cls.__init__] + [klass.__init__ for klass in cls.job_cls.__mro__
                                  if isinstance(klass, type) and issubclass(klass, job_base)]
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    keys = {name for function in functions for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind in named}
    return keys - RESERVED - set(_moved(kind))


def _moved(kind: str) -> dict[str, str]:
    return {**MOVED, "project": "account"} if kind in ("slurm", "pbs") else MOVED


def _check_key(path: Path, kind: str, key: Any, accepted: set[str]) -> None:
    if key in accepted:
        return
    cls = JOBQUEUE_CLASSES[kind]
    if key in _moved(kind):
        raise ClusterError(f"{path}: key {key!r} is not for the kit's {cls}; use {_moved(kind)[key]} instead")
    close = difflib.get_close_matches(str(key).replace("-", "_"), sorted(accepted), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}?" if close else f"the accepted keys are {', '.join(sorted(accepted))}"
    raise ClusterError(f"{path}: unknown key {key!r} for {cls}; {hint}")


def _check_required(path: Path, kind: str, config: dict) -> None:
    missing = [key for key in REQUIRED.get(kind, REQUIRED_DEFAULT) if config.get(key) is None]
    if missing:
        examples = ", ".join(REQUIRED_EXAMPLE[key] for key in missing)
        raise ClusterError(f"{path}: set {' and '.join(missing)} for each job (e.g. {examples})")


def _checked_value(path: Path, kind: str, key: str, value: Any) -> Any:
    if key in COUNT_KEYS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ClusterError(f"{path}: {key} must be a whole number of at least 1 (got {value!r})")
    if key in SIZE_KEYS:
        return _checked_size(path, key, value)
    if key == "walltime" and not isinstance(value, str):
        raise ClusterError(f"{path}: walltime {value!r} is not a time; quote it (walltime: \"01:00:00\"), as YAML "
                           "reads an unquoted 12:00:00 as a number of seconds")
    if key in MAPPING_KEYS or (kind == "htcondor" and key == "job_extra_directives"):
        if not isinstance(value, dict):
            raise ClusterError(f"{path}: {key} must be a mapping (key: value lines), got {value!r}")
    elif key in LIST_KEYS:
        return _checked_list(path, key, value)
    return value


def _checked_size(path: Path, key: str, value: Any) -> str:
    parse_bytes = _import("dask.utils", "dask").parse_bytes
    try:
        parse_bytes(str(value))
    except (ValueError, TypeError):
        raise ClusterError(f"{path}: {key} {value!r} is not a size; write it like 16GiB or 16GB") from None
    return str(value)


def _checked_list(path: Path, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or any(isinstance(item, (dict, list)) or item is None for item in value):
        raise ClusterError(f"{path}: {key} must be a YAML list with one line per item "
                           f"(e.g. {key}: [\"...\"]), got {value!r}")
    return [str(item) for item in value]


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
