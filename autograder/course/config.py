"""grading.yml: typed course settings (assignments, questions, points, limits, device)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from autograder.course.layout import KIT_ROOT, question_ids
from autograder.course.registry import Registry, load_registry
from autograder.course.schema import ConfigError, convert, setting

DEFAULT_CONFIG = KIT_ROOT / "grading.yml"
DATASETS = ("synthetic", "cifar10")


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
    shrink: bool = setting(
        True, "Shrink a failing input to a small one for the feedback; false shows the first failing input "
              "found and grades wrong answers faster (the same scores, unless shrinking would have spent "
              "limits.submission_seconds).")


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
    thresholds: dict[str, dict[str, AccuracyThreshold | float]] = setting(
        dict, "Accuracy thresholds, one set per dataset name: per model (a checkpoint's name: overall and "
              "per_class) and per comparison (its name: the least lead in overall accuracy), as the model "
              "questions' models.yml name them.")

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
    config = convert(GradingConfig, data, str(path), "")
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
    if masters:
        check_models(config, load_registry(), path)
    return config


def check_models(config: GradingConfig, registry: Registry, path: Path) -> None:
    """Every checkpoint a question takes is a model of the registry, and every threshold names a model
    (overall, per_class) or a comparison (a number)."""
    for qid, question in config.questions.items():
        for checkpoint in question.checkpoints:
            model = registry.models.get(Path(checkpoint).stem)
            if model is None or model.question not in (qid, *question.compares_with):
                raise ConfigError(f"{path}: {qid}.checkpoints: {checkpoint} is not a model of "
                                  f"assignments/{qid}/models.yml; declare it there.")
    for dataset, thresholds in config.thresholds.items():
        for name, value in thresholds.items():
            expected = AccuracyThreshold if name in registry.models else float if name in registry.comparisons else None
            if expected is None:
                close = difflib.get_close_matches(name, [*registry.models, *registry.comparisons], n=1)
                hint = f"did you mean {close[0]!r}?" if close else "no model or comparison has that name."
                raise ConfigError(f"{path}: thresholds.{dataset}.{name}: {hint}")
            if not isinstance(value, expected) or (expected is float and value < 0):
                wanted = "{overall: ..., per_class: ...}" if expected is AccuracyThreshold else "a number, at least 0"
                raise ConfigError(f"{path}: thresholds.{dataset}.{name}: expected {wanted}, got {value!r}.")
