"""README.md of student.zip: what to write, how to check it, what to submit, then every statement."""
from __future__ import annotations

import ast
import re
import sys
from importlib import metadata

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from autograder.course.config import KIT_ROOT
from autograder.course.layout import master_file
from autograder.models.data import MEAN, STD

CHECK_COMMAND = "pytest"   # what the handout tells students to run in the unzipped folder
CPU_INDEX = "https://download.pytorch.org/whl/cpu"   # PyTorch's CPU-only builds for Linux and Windows
PYTORCH = ("torch", "torchvision")                   # what comes from CPU_INDEX; the rest from PyPI


def kit_project() -> dict:
    """The kit's pyproject.toml, read."""
    return tomllib.loads((KIT_ROOT / "pyproject.toml").read_text())


def statement(question: str) -> str:
    """The question's statement: the module docstring of its master file."""
    return ast.get_docstring(ast.parse(master_file(question).read_text())) or ""


def handout(plan, requirements: str | None = None) -> str:
    """README.md of student.zip: what to write, how to set up and check it, what to submit, then every statement.

    requirements: the folder's requirements.txt, whose pins the install commands repeat (default: the versions
    of torch and torchvision installed here, as requirements.txt has them).
    """
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
              "Keep the names of functions, classes and arguments.", ""]
    pins = pinned(requirements) if requirements is not None else tested_versions(PYTORCH)
    lines += [*install_section(pins), "", *check_section(plan.questions[0]), "", "## Submit", "",
              f"Upload {_listing(own)}."]
    if borrowed:
        earlier = sorted({plan.config.assignment_of(q) for q in plan.loaded if q not in plan.questions})
        lines += ["", f"Add {_listing(borrowed)} from your {_listing(earlier)} assignment as well: the tests "
                      "compare your new work with it."]
    if plan.checkpoints:
        lines += ["", *data_section(plan.config)]
    for q in plan.questions:
        lines += ["", f"## `{q}.py`: {questions[q].title} ({questions[q].points:g} points)", "", statement(q)]
    return "\n".join(lines) + "\n"


# -- setting up and checking ------------------------------------------------------------------------
def install_section(pins: dict[str, str]) -> list[str]:
    """Section "Set up": a virtual environment, then PyTorch's CPU-only build by default, at the pinned versions."""
    pytorch = " ".join(f"{name}=={pins[name]}" if name in pins else name for name in PYTORCH)
    lines = ["## Set up (once)", "",
             f"You need Python {python_floor(pins)} or newer. In a terminal in this folder, make a virtual environment "
             "and activate it (again in every new terminal):", "",
             "```bash", "python3 -m venv .venv            # macOS and Linux", "source .venv/bin/activate", "```", "",
             "```powershell", "py -m venv .venv                 # Windows (PowerShell)", r".venv\Scripts\Activate.ps1",
             "```", "",
             "(If PowerShell refuses to run `Activate.ps1`, run `Set-ExecutionPolicy -Scope CurrentUser RemoteSigned` "
             "once.) Then install the packages at the versions the kit was tested with, which `requirements.txt` "
             "lists. **Linux and Windows**: PyTorch's CPU-only build first (a few hundred MB; on Linux the default "
             "from PyPI is the CUDA build, several GB), then the rest:", "",
             "```bash", f"python -m pip install {pytorch} --index-url {CPU_INDEX}",
             "python -m pip install -r requirements.txt", "```", "",
             "**macOS**: PyPI's builds are the Mac's CPU builds already (they use its GPU through `mps` too), and "
             "PyTorch's CPU index is for Linux and Windows, so one line does it:", "",
             "```bash", "python -m pip install -r requirements.txt", "```"]
    if _newer_than(pins.get("torch", "0"), (2, 2)):
        lines += ["", "(PyTorch stopped publishing builds for Intel Macs after version 2.2: on an Intel Mac these "
                      "versions do not install; use a Mac with Apple silicon, a Linux or a Windows computer.)"]
    return lines + [
        "", "The tests need no GPU. For the GPU (CUDA) build instead, on a computer with an NVIDIA GPU: on Linux, "
        "leave out the CPU-only line (PyPI's torch is the CUDA build); on Windows, replace its index with the one "
        "https://pytorch.org/get-started/locally/ gives for your CUDA version (it ends in `/whl/cu` and a number), "
        "keeping the versions."]


def check_section(example: str) -> list[str]:
    """Section "Check your work": pytest in a terminal on each system, check() in a notebook, what the output means."""
    return ["## Check your work", "",
            "In a terminal in this folder, with the environment active, after every change:", "",
            "```bash", CHECK_COMMAND, "```", "",
            "On Windows (PowerShell), or wherever `pytest` is not found, type `python -m pytest` (`py -m pytest` "
            "without the environment). This runs the public tests on the files in this folder. "
            f"`pytest assignments/{example}` runs one question's; `pytest --feedback=full` gives pytest's "
            "whole report, tracebacks and all.", "",
            "In a notebook (Jupyter, VS Code) in this folder, on this environment's Python (`python -m pip install "
            "notebook`, then `python -m notebook`), one line runs a question's public tests and shows what `pytest` "
            "shows:", "",
            "```python", f'from autograder import check; check("{example}")', "```", "",
            "It tests the `.py` files of this folder as they are saved, not code in the notebook, in a process of its "
            "own: no restart is needed after an edit, and a crash or a hang in your code leaves the notebook running. "
            "`check()` runs every question's; the result also has `.passed`, `.points` and `.max_points`.", "",
            "What the output means: each failed test shows the grader's message with the input it failed on (for "
            "generated inputs, the smallest one that fails), what was expected and what your code returned, then "
            "what your code printed; a failure that an earlier test already showed takes one line. The last lines "
            "give the points of the **public tests only**, per question. They are not your grade: hidden tests, "
            "which try many more generated inputs, count too, so passing the public tests is a good sign, not a "
            "promise."]


def pinned(requirements: str) -> dict[str, str]:
    """{distribution: version} of the `name==version` lines of a requirements.txt."""
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", requirements, re.MULTILINE))


def tested_versions(distributions) -> dict[str, str]:
    """{distribution: version} as installed here, without a local label (2.5.1+cpu -> 2.5.1: a pin that fits the
    CPU, CUDA and macOS builds alike); distributions not installed are left out."""
    versions = {}
    for name in distributions:
        try:
            versions[metadata.metadata(name)["Name"]] = metadata.version(name).split("+")[0]
        except metadata.PackageNotFoundError:
            continue
    return versions


def python_floor(distributions) -> str:
    """The oldest Python 3 that the kit (pyproject.toml) and all these installed distributions accept (their
    Requires-Python), e.g. "3.11"."""
    needs = [kit_project()["project"].get("requires-python", "")]
    for name in distributions:
        try:
            needs.append(metadata.metadata(name).get("Requires-Python") or "")
        except metadata.PackageNotFoundError:
            continue
    minors = [int(minor) for need in needs for minor in re.findall(r">=\s*3\.(\d+)", need)]
    return f"3.{max(minors, default=0)}"


def _newer_than(version: str, major_minor: tuple[int, int]) -> bool:
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    return numbers > major_minor


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
        "`autograder/models/data.py`. They are 32x32 colour images labelled with the ten CIFAR-10 classes, where each "
        "class is a simple shape (a bar, a ring, a cross, ...) drawn at a random place, size, angle and colour. "
        "Train on them, not on CIFAR-10 photographs. "
        f"The files of this folder make them (always the same ones), {sizes.train_size:,} training images and "
        "the test images:", "",
        "```python", "import torch", "from autograder.course.config import load_config", "from autograder.models.data import load",
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
