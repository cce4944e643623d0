"""README.md of student.zip: what to write, how to check it, what to submit, then every statement."""
from __future__ import annotations

import ast

from .config import KIT_ROOT
from .data import MEAN, STD

CHECK_COMMAND = "pytest"   # what the handout tells students to run in the unzipped folder


def statement(question: str) -> str:
    """The question's statement: the module docstring of its master file."""
    return ast.get_docstring(ast.parse((KIT_ROOT / "assignments" / f"{question}.py").read_text())) or ""


def handout(plan) -> str:
    """README.md of student.zip: what to write, how to check it, what to submit, then every statement."""
    questions = plan.config.assignments[plan.name].questions
    total = sum(q.points for q in questions.values())
    own = [f"{q}.py" for q in plan.questions] + [c for q in plan.questions for c in questions[q].checkpoints]
    borrowed = [f for q in plan.loaded if q not in plan.questions
                for f in (f"{q}.py", *plan.config.questions[q].checkpoints)]
    lines = [f"# {plan.title}", "",
             f"This assignment has {_count(len(plan.questions))}, {total:g} points in all:", ""]
    lines += [f"- `{q}.py`: {questions[q].title} ({questions[q].points:g} points)" for q in plan.questions]
    lines += ["", "## What to do", "",
              "Write your code in the files named above, in this folder, where the stubs raise "
              "`NotImplementedError`. Each docstring is the specification: arguments, shapes, examples. "
              "Keep the names of functions, classes and arguments.", "",
              "## Check your work", "", "Once, in a terminal in this folder (a virtual environment is best):", "",
              "```bash", "python -m pip install -r requirements.txt", "```", "",
              "Then, after every change:", "", "```bash", CHECK_COMMAND, "```", "",
              "This runs the public tests on the files in this folder. A failed test shows the input it "
              "failed on, what was expected and what your code returned. Hidden tests, which try many "
              "more generated inputs, decide your grade as well, so passing the public tests is a good "
              "sign, not a promise.", "", "## Submit", "", f"Upload {_listing(own)}."]
    if borrowed:
        earlier = sorted({plan.config.assignment_of(q) for q in plan.loaded if q not in plan.questions})
        lines += ["", f"Add {_listing(borrowed)} from your {_listing(earlier)} assignment as well: the tests "
                      "compare your new work with it."]
    if plan.checkpoints:
        lines += ["", *data_section(plan.config)]
    for q in plan.questions:
        lines += ["", f"## `{q}.py`: {questions[q].title} ({questions[q].points:g} points)", "", statement(q)]
    return "\n".join(lines) + "\n"


GRADER_IMAGES = (f"float32 tensors of shape (N, 3, 32, 32): every pixel scaled to [0, 1], then normalised per "
                 f"channel (red, green, blue) with mean `{MEAN}` and std `{STD}`")


def data_section(config) -> list[str]:
    """Section "The data": the images the grader scores checkpoints on (grading.yml data.name) and how to get them."""
    lines = ["## The data", ""]
    if config.data.name == "cifar10":
        return lines + [
            "The grader measures your checkpoints on the CIFAR-10 test set (10,000 images; grading.yml: "
            f"`data.name: cifar10`). It feeds your model {GRADER_IMAGES}. Train on the CIFAR-10 training set "
            "(50,000 images), normalised exactly the same way:", "",
            "```python", "import torch", "from torchvision import datasets, transforms", "",
            "transform = transforms.Compose([", "    transforms.ToTensor(),  # (3, 32, 32) float32 in [0, 1]",
            f"    transforms.Normalize({MEAN}, {STD}),", "])",
            'train_set = datasets.CIFAR10("data", train=True, download=True, transform=transform)',
            'test_set = datasets.CIFAR10("data", train=False, download=True, transform=transform)',
            "train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)", "```", "",
            "Another normalisation, such as `Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))`, shows your model other "
            "numbers when it is graded than when it learned, and costs accuracy.", *_checkpoint_rules(config)]
    sizes = config.data.synthetic
    return lines + [
        "**The grader does not use CIFAR-10 for this assignment**: it measures your checkpoints on the kit's "
        f"synthetic images (grading.yml: `data.name: synthetic`), {sizes.test_size:,} test images made by "
        "`autograder/data.py`. They are 32x32 colour images labelled with the ten CIFAR-10 classes, where each "
        "class is a simple shape (a bar, a ring, a cross, ...) drawn at a random place, size, angle and colour. "
        "Train on them, not on CIFAR-10 photographs. "
        f"The files of this folder make them (always the same ones), {sizes.train_size:,} training images and "
        "the test images:", "",
        "```python", "import torch", "from autograder.config import load_config", "from autograder.data import load",
        "", 'train = load(load_config().data, "train")  # or "test"',
        "train_set = torch.utils.data.TensorDataset(train.images, train.labels)  # images (N, 3, 32, 32), labels (N,)",
        "train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)", "```", "",
        "Run it in this folder, where `autograder/` and `grading.yml` are. The images are already what the grader "
        f"feeds your model, {GRADER_IMAGES}: do not normalise them again.", *_checkpoint_rules(config)]


def _checkpoint_rules(config) -> list[str]:
    return ["", "The grader loads each checkpoint with `torch.load(..., weights_only=True)` (save the state_dict "
                f"only; a file over {config.limits.checkpoint_mb} MB is not loaded), calls `model.eval()` and "
                "predicts the test images in batches of 250, without gradients, on its own device (CPU or GPU)."]


def _count(questions: int) -> str:
    return "one question" if questions == 1 else f"{questions} questions"


def _listing(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
