"""grading.yml: typed course settings (assignments, questions, points, limits, device)."""
from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from autograder.course.layout import KIT_ROOT, question_ids

DEFAULT_CONFIG = KIT_ROOT / "grading.yml"
DATASETS = ("synthetic", "cifar10")


class ConfigError(ValueError):
    """grading.yml is malformed; the message names the file, the key and the fix."""


def setting(default, help: str, minimum: float | None = None):
    """A dataclass field with a default, a description and an optional lower bound."""
    factory = {"default_factory": default} if callable(default) else {"default": default}
    return field(**factory, metadata={"help": help, "minimum": minimum})


@dataclass(frozen=True)
class Limits:
    call_seconds: float = setting(10.0, "Wall-clock seconds one call into student code may take.", 0.1)
    submission_seconds: float = setting(300.0, "Wall-clock seconds for all student calls of one submission.", 1)
    memory_mb: int = setting(2048, "Memory (address space) student code may add on top of Python and torch, CPU only.", 64)
    output_kb: int = setting(64, "Student stdout/stderr kept per call; the rest is counted and dropped.", 1)
    file_size_mb: int = setting(64, "Largest file student code may write.", 1)
    message_mb: int = setting(256, "Largest value student code may send back to the grader.", 1)
    threads: int = setting(1, "Torch/OpenMP threads in the worker (keep 1 when grading in parallel).", 1)
    processes: int = setting(
        64, "Processes and threads student code may have at once (enforced when the grader runs as root).", 8)
    gpu_memory_fraction: float = setting(
        0.45, "Share of the GPU's memory one worker may use (CUDA only, where the memory limit cannot apply).", 0.01)
    checkpoint_mb: int = setting(200, "Largest checkpoint file accepted from a submission; bigger ones are not loaded.", 1)
    predict_seconds: float = setting(
        120.0, "Wall-clock seconds for slow kit routines: predicting a whole test set with a student's model, "
               "building the first optimizer (torch imports its compiler then).", 1)


@dataclass(frozen=True)
class HypothesisSettings:
    max_examples: int = setting(40, "Examples per Hypothesis test in the 'grading' profile.", 1)


@dataclass(frozen=True)
class Question:
    points: float = setting(1.0, "Points of the question, shared among its tests by their points marker.", 0)
    title: str = setting("", "Short title shown in feedback and gradebooks.")
    checkpoints: list[str] = setting(list, "Checkpoint files (state_dicts) submitted with the question, e.g. lenet.pt.")
    compares_with: list[str] = setting(
        list, "Other questions whose files (code and checkpoints) this question's tests also load, e.g. q7 "
              "compares the student's EfficientNet with their q6 LeNet.")


@dataclass(frozen=True)
class SyntheticData:
    train_size: int = setting(5000, "Training images of the kit's synthetic CIFAR-shaped dataset.", 10)
    test_size: int = setting(1000, "Test images (balanced over the ten classes).", 10)
    seed: int = setting(0, "Seed of the synthetic dataset; the same seed always gives the same images.", 0)


@dataclass(frozen=True)
class DataSettings:
    name: Literal["synthetic", "cifar10"] = setting(
        "synthetic", "Dataset the accuracy questions are graded on; nothing switches to another one silently.")
    root: str = setting("data", "Folder holding CIFAR-10 (torchvision layout), relative to the kit root.")
    synthetic: SyntheticData = setting(SyntheticData, "Size and seed of the synthetic dataset.")


@dataclass(frozen=True)
class AccuracyThreshold:
    overall: float = setting(0.0, "Least accuracy over the whole test set (0 to 1).", 0)
    per_class: float = setting(0.0, "Least accuracy of every single class (0 to 1).", 0)


@dataclass(frozen=True)
class DatasetThresholds:
    lenet: AccuracyThreshold = setting(AccuracyThreshold, "LeNet checkpoint (q6, lenet.pt).")
    simple_nn: AccuracyThreshold = setting(AccuracyThreshold, "Fully connected network (q6, simple_nn.pt).")
    efficientnet: AccuracyThreshold = setting(AccuracyThreshold, "EfficientNet-B0 checkpoint (q7, efficientnet.pt).")
    lenet_over_simple_nn: float = setting(0.0, "Overall accuracy LeNet must have above the fully connected network.", 0)
    efficientnet_over_lenet: float = setting(0.0, "Overall accuracy EfficientNet must have above LeNet.", 0)


@dataclass(frozen=True)
class Assignment:
    questions: dict[str, Question] = setting(dict, "Questions by id; the id is the student file's stem.")
    title: str = setting("", "Title shown in handouts.")


@dataclass(frozen=True)
class GradingConfig:
    assignments: dict[str, Assignment] = setting(dict, "Release units, each a group of questions.")
    device: Literal["auto", "cpu", "cuda"] = setting("auto", "Where tensors go: auto uses CUDA when present.")
    hidden_visibility: Literal["hidden", "after_due_date", "after_published", "visible"] = setting(
        "after_published", "Gradescope visibility of hidden tests (public tests are always visible).")
    hypothesis: HypothesisSettings = setting(HypothesisSettings, "Hypothesis 'grading' profile.")
    limits: Limits = setting(Limits, "Resource limits of the sandboxed worker.")
    data: DataSettings = setting(DataSettings, "Images the accuracy questions are trained and graded on.")
    thresholds: dict[str, DatasetThresholds] = setting(dict, "Accuracy thresholds, one set per dataset name.")

    @property
    def questions(self) -> dict[str, Question]:
        """Every question of every assignment, by id."""
        return {qid: q for a in self.assignments.values() for qid, q in a.questions.items()}

    def checkpoint_models(self, question_ids) -> list[str]:
        """The models these questions grade from checkpoints, by file stem: ["lenet", "simple_nn"]."""
        return [Path(name).stem for qid in question_ids if qid in self.questions
                for name in self.questions[qid].checkpoints]

    def with_compared(self, question_ids) -> list[str]:
        """These questions and those they compare with (compares_with): the files a submission must hold."""
        return list(dict.fromkeys([*question_ids, *(other for qid in question_ids if qid in self.questions
                                                     for other in self.questions[qid].compares_with)]))

    def assignment_of(self, question_id: str) -> str:
        return next(name for name, a in self.assignments.items() if question_id in a.questions)


def load_config(path: str | Path = DEFAULT_CONFIG) -> GradingConfig:
    """Read grading.yml into a GradingConfig; raise ConfigError naming the bad key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    config = _convert(GradingConfig, data, str(path), "")
    seen: dict[str, str] = {}
    for name, assignment in config.assignments.items():
        for qid in assignment.questions:
            if qid in seen:
                raise ConfigError(f"{path}: question {qid!r} is in assignments {seen[qid]!r} and {name!r}; "
                                  "a question belongs to one assignment.")
            seen[qid] = name
    masters = question_ids()  # none in a release zip: it holds no masters
    for qid in seen:
        if masters and qid not in masters:
            close = difflib.get_close_matches(qid, masters, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"masters: {', '.join(masters)}."
            raise ConfigError(f"{path}: assignments.{seen[qid]}.questions.{qid}: no master file "
                              f"assignments/{qid}/master.py; {hint}")
    for qid, question in config.questions.items():
        for other in question.compares_with:
            if other not in config.questions:
                raise ConfigError(f"{path}: {qid}.compares_with names {other!r}, which is not a question.")
    unknown = sorted(set(config.thresholds) - set(DATASETS))
    if unknown:
        raise ConfigError(f"{path}: thresholds.{unknown[0]}: no such dataset; use {' or '.join(DATASETS)}.")
    return config


def _convert(kind, value, path: str, key: str):
    where = f"{path}: {key or 'top level'}"
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of settings, got {value!r}.")
        fields = {f.name: f for f in dataclasses.fields(kind)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(fields)}.")
        hints = typing.get_type_hints(kind)
        kwargs = {}
        for name, val in value.items():
            sub = f"{key}.{name}" if key else name
            kwargs[name] = _convert(hints[name], val, path, sub)
            minimum = fields[name].metadata.get("minimum")
            if minimum is not None and kwargs[name] < minimum:
                raise ConfigError(f"{path}: {sub}: must be at least {minimum}, got {val!r}.")
        return kind(**kwargs)
    if origin is dict:
        _, item_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}.")
        return {str(k): _convert(item_kind, v if v is not None else {}, path, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}.")
        return [_convert(item_kind, v, path, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            raise ConfigError(f"{where}: must be one of {', '.join(map(str, choices))}; got {value!r}.")
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str) and isinstance(value, kind) and not isinstance(value, bool):
        return value
    names = {float: "a number", int: "a whole number", str: "a string"}
    raise ConfigError(f"{where}: expected {names.get(kind, kind)}, got {value!r}.")
