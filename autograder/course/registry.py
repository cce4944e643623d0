"""The model registry: the models a question grades from submitted checkpoints, declared in the question's folder
(assignments/<id>/models.yml): how each is built (a class or function of the question's file), the kit's recipe
for training the reference, what students and the leaderboard call it, and which models are compared."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from autograder.course.layout import KIT_ROOT, MODELS, SOLUTIONS, questions_folder
from autograder.course.schema import ConfigError, convert, setting


@dataclass(frozen=True)
class Recipe:
    """How the reference of one checkpoint is trained (`autograder train`, `autograder calibrate`)."""
    optimizer: str = setting("SGD", "SGD (with Nesterov momentum when momentum > 0) or AdamW.")
    lr: float = setting(0.05, "Learning rate.", 0)
    momentum: float = setting(0.9, "SGD's momentum.", 0)
    weight_decay: float = setting(0.0, "Weight decay.", 0)
    batch_size: int = setting(64, "Images per step.", 1)
    epochs: int = setting(10, "Epochs of the reference training.", 1)
    cosine: bool = setting(False, "Anneal the learning rate to 0 over the epochs (else keep it constant).")
    channels_last: bool = setting(False, "NHWC memory layout (faster for depthwise convolutions on a CPU).")
    shift: int = setting(0, "Shift each training image by up to this many pixels (zero padding); 0: off.", 0)
    dropout: bool = setting(True, "False: Dropout and stochastic depth off while training (they slow a short run).")


@dataclass(frozen=True)
class ModelEntry:
    factory: str = setting("", "The class or function of the question's file that builds the model.")
    args: list[int | str] = setting(list, "Its arguments, e.g. [10] for LeNet(10).")
    title: str = setting("", "What feedback calls the model, e.g. LeNet.")
    leaderboard: str = setting("", "Its column on Gradescope's leaderboard, e.g. LeNet acc.")
    recipe: Recipe = setting(Recipe, "The kit's training recipe for the reference checkpoint.")


@dataclass(frozen=True)
class ComparisonEntry:
    better: str = setting("", "The model that must be more accurate ...")
    worse: str = setting("", "... than this one, by the margin thresholds.<dataset>.<comparison> sets.")


@dataclass(frozen=True)
class ModelsFile:
    models: dict[str, ModelEntry] = setting(dict, "Models by checkpoint name (the file students submit, without .pt).")
    comparisons: dict[str, ComparisonEntry] = setting(dict, "Comparisons by threshold name, e.g. lenet_over_simple_nn.")


@dataclass(frozen=True)
class Model:
    """One registered model: `name` is its checkpoint's stem (lenet for lenet.pt), `question` the file defining it."""
    name: str
    question: str
    factory: str
    args: tuple
    title: str
    leaderboard: str
    recipe: Recipe

    def build(self, solutions: Path = SOLUTIONS):
        """The reference model, built by the question's reference solution (solutions/<question>.py)."""
        path = solutions / f"{self.question}.py"
        spec = importlib.util.spec_from_file_location(f"reference_{self.question}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, self.factory)(*self.args)


@dataclass(frozen=True)
class Registry:
    models: dict[str, Model]
    comparisons: dict[str, tuple[str, str]]   # threshold name -> (better model, worse model)

    def model(self, name: str) -> Model:
        if name not in self.models:
            raise KeyError(f"no model {name!r} in any assignments/<id>/{MODELS}; the models are "
                           f"{', '.join(self.models) or 'none'}.")
        return self.models[name]


def load_registry(root: Path = KIT_ROOT) -> Registry:
    """Every question's models.yml under root's assignments/, checked (one error naming the file and the key)."""
    return _load(root.resolve())


@lru_cache(maxsize=None)
def _load(root: Path) -> Registry:
    models: dict[str, Model] = {}
    comparisons: dict[str, tuple[str, str]] = {}
    for path in sorted(questions_folder(root).glob(f"*/{MODELS}")):
        question = path.parent.name
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        declared = convert(ModelsFile, data, str(path), "")
        for name, entry in declared.models.items():
            if name in models:
                raise ConfigError(f"{path}: models.{name}: already declared by {models[name].question}.")
            if not entry.factory:
                raise ConfigError(f"{path}: models.{name}.factory: name the class or function that builds it.")
            models[name] = Model(name, question, entry.factory, tuple(entry.args), entry.title or name,
                                 entry.leaderboard or f"{name} acc", entry.recipe)
        for name, entry in declared.comparisons.items():
            comparisons[name] = (entry.better, entry.worse)
    for name, pair in comparisons.items():
        unknown = [m for m in pair if m not in models]
        if unknown:
            raise ConfigError(f"comparison {name}: no model {unknown[0]!r}; the models are {', '.join(models)}.")
    return Registry(models, comparisons)
