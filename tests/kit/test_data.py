"""The model questions' data: the synthetic look-alike, the real CIFAR-10 path, and what students are told."""
import dataclasses
import hashlib
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import torch

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, DataSettings, SyntheticData, load_config
from autograder.models.data import CLASSES, MEAN, STD, DataUnavailable, load, synthetic_pixels
from autograder.release.handout import data_section, handout
from autograder.release.contents import plan, student_files


def test_synthetic_images_are_cifar_shaped_balanced_and_deterministic():
    pixels, labels = synthetic_pixels(200, seed=3)
    assert pixels.shape == (200, 32, 32, 3) and pixels.dtype == torch.uint8
    assert torch.bincount(labels, minlength=10).tolist() == [20] * 10
    again, same_labels = synthetic_pixels(200, seed=3)
    assert torch.equal(pixels, again) and torch.equal(labels, same_labels)
    other, _ = synthetic_pixels(200, seed=4)
    assert not torch.equal(pixels, other)


def test_train_and_test_splits_differ_and_are_normalised():
    settings = DataSettings(synthetic=SyntheticData(train_size=100, test_size=50, seed=0))
    train, test = load(settings, "train"), load(settings, "test")
    assert train.images.shape == (100, 3, 32, 32) and test.images.shape == (50, 3, 32, 32)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert not torch.equal(train.images[:50], test.images)
    assert train.name == "synthetic/train" and len(CLASSES) == 10
    back = train.images * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)
    assert back.min() >= -1e-5 and back.max() <= 1 + 1e-5


def test_colour_and_position_say_nothing_about_the_class():
    pixels, labels = synthetic_pixels(2000, seed=0)
    images = pixels.float() / 255
    colour = torch.stack([images[labels == c].mean(dim=(0, 1, 2)) for c in range(10)])  # (10, 3)
    assert (colour.max(0).values - colour.min(0).values).max() < 0.06, "a class has its own colour"
    centre_of_mass = []
    for c in range(10):
        contrast = (images[labels == c] - images[labels == c].mean(dim=(1, 2), keepdim=True)).abs().sum(-1)
        weights = contrast / contrast.sum(dim=(1, 2), keepdim=True)
        centre_of_mass.append((weights * torch.arange(32.0).view(1, 1, 32)).sum(dim=(1, 2)).mean())
    assert max(centre_of_mass) - min(centre_of_mass) < 1.5, "a class sits in its own place"


def test_a_missing_cifar10_is_an_error_that_says_how_to_get_it(tmp_path):
    settings = DataSettings(name="cifar10", root=str(tmp_path / "nowhere"))
    with pytest.raises(DataUnavailable, match="autograder data --download"):
        load(settings, "test")


def test_a_bad_split_is_refused():
    with pytest.raises(ValueError, match="split"):
        load(dataclasses.replace(DataSettings()), "validation")


# -- the real CIFAR-10 path, on a small folder in torchvision's on-disk format ------------------------
def write_cifar10(root, batch_size: int = 6, seed: int = 0) -> dict:
    """`root`/cifar-10-batches-py as torchvision's CIFAR10 reads it: five training batches, a test batch,
    batches.meta. Returns {file name: (pixels (N, 3072) uint8 in CIFAR's channel-major order, labels)}.

    The real files are Python 2 pickles whose byte-string keys torchvision decodes with
    encoding="latin1", so they load as str keys ("data", "labels", "label_names"): what a Python 3
    pickle of str keys gives. Their md5 sums are not CIFAR-10's: see `real_cifar10_format`.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    generator = torch.Generator().manual_seed(seed)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = torch.randint(0, 256, (batch_size, 3072), generator=generator, dtype=torch.uint8).numpy()
        labels = torch.randint(0, 10, (batch_size,), generator=generator).tolist()
        (folder / name).write_bytes(pickle.dumps({"batch_label": name, "data": pixels, "labels": labels}))
        written[name] = (pixels, labels)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names, "num_vis": 3072}))
    return written


@pytest.fixture
def real_cifar10_format(tmp_path, monkeypatch):
    """A small CIFAR-10 folder, and torchvision told its md5 sums.

    The kit loads CIFAR-10 with download=False, and torchvision then checks the md5 sum of every file
    against the real dataset's (`_check_integrity`, `_load_meta`); files written here cannot match them.
    So the test swaps in the sums of its own files: the integrity check still runs, on these files.
    """
    from torchvision.datasets import CIFAR10

    written = write_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"

    def md5(name):
        return hashlib.md5((folder / name).read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5(f"data_batch_{i}")] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})
    return tmp_path, written


def expected_images(pixels) -> torch.Tensor:
    """What the statements of q6 and q7 promise: CIFAR's rows (3072 = red 32x32, green, blue) as
    (N, 3, 32, 32) float32, scaled to [0, 1], minus MEAN and divided by STD per channel."""
    images = torch.from_numpy(pixels).reshape(-1, 3, 32, 32).double() / 255
    return ((images - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1))
            / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1)).float()


def test_cifar10_test_split_is_read_from_disk_and_normalised_as_the_statements_say(real_cifar10_format):
    root, written = real_cifar10_format
    test = load(DataSettings(name="cifar10", root=str(root)), "test")
    pixels, labels = written["test_batch"]
    assert test.name == "cifar10/test" and len(test) == 6
    assert test.images.shape == (6, 3, 32, 32) and test.images.dtype == torch.float32
    assert test.labels.dtype == torch.int64 and test.labels.tolist() == labels
    torch.testing.assert_close(test.images, expected_images(pixels))


def test_cifar10_train_split_holds_the_five_batches_in_order(real_cifar10_format):
    root, written = real_cifar10_format
    train = load(DataSettings(name="cifar10", root=str(root)), "train")
    batches = [written[f"data_batch_{i}"] for i in range(1, 6)]
    assert train.images.shape == (30, 3, 32, 32) and train.name == "cifar10/train"
    assert train.labels.tolist() == [label for _, labels in batches for label in labels]
    torch.testing.assert_close(train.images, expected_images(numpy.concatenate([p for p, _ in batches])))


def test_the_transform_the_statements_give_students_matches_the_grader(real_cifar10_format):
    from torchvision import datasets, transforms

    root, _ = real_cifar10_format
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    students = datasets.CIFAR10(str(root), train=False, transform=transform)
    grader = load(DataSettings(name="cifar10", root=str(root)), "test")
    for index in range(len(grader)):
        image, label = students[index]
        torch.testing.assert_close(image, grader.images[index])
        assert label == grader.labels[index].item()


@pytest.mark.parametrize("question", ["q6_lenet", "q7_efficientnet"])
def test_the_model_statements_give_the_graders_normalisation(question):
    statement = (KIT_ROOT / "assignments" / question / "master.py").read_text()
    assert f"transforms.Normalize({MEAN}, {STD})" in statement


def test_a_corrupted_cifar10_file_is_reported_as_missing_data(real_cifar10_format):
    root, _ = real_cifar10_format
    with open(root / "cifar-10-batches-py" / "test_batch", "ab") as damaged:
        damaged.write(b"\0")
    with pytest.raises(DataUnavailable, match="autograder data --download"):
        load(DataSettings(name="cifar10", root=str(root)), "test")


# -- what the student handout says about the data -----------------------------------------------------
def with_dataset(name: str):
    config = load_config()
    return dataclasses.replace(config, data=dataclasses.replace(config.data, name=name))


def python_block(lines: list[str]) -> str:
    text = "\n".join(lines)
    return text[text.index("```python\n") + 10:text.index("\n```", text.index("```python"))]


def test_the_handout_names_cifar10_and_the_transform_that_matches_the_grader():
    text = "\n".join(data_section(with_dataset("cifar10")))
    assert "CIFAR-10 test set" in text and "`data.name: cifar10`" in text
    assert f"transforms.Normalize({MEAN}, {STD})" in python_block(data_section(with_dataset("cifar10")))


def test_the_handout_never_claims_cifar10_when_the_grader_uses_synthetic_images(tmp_path):
    config = tmp_path / "grading.yml"
    config.write_text(re.sub(r"(?m)^  name: \w+", "  name: synthetic", DEFAULT_CONFIG.read_text()))
    the_plan = plan(load_config(config), config, "lenet")
    section = data_section(the_plan.config)
    text = "\n".join(section)
    assert "does not use CIFAR-10" in text and "`data.name: synthetic`" in text
    assert "datasets.CIFAR10" not in text and "do not normalise them again" in text
    # the handout's code, run as a student runs it: in the unzipped student folder, with what student.zip holds
    for name, content in student_files(the_plan).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content.read_bytes() if isinstance(content, Path) else content.encode())
    code = python_block(section) + ("\nimport json\nimages, labels = next(iter(train_loader))\n"
                                    "print(json.dumps([[*images.shape], str(images.dtype), str(labels.dtype), "
                                    "float(images.min())]))")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "lenet", capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    shape, dtype, label_dtype, smallest = json.loads(run.stdout.splitlines()[-1])
    assert (shape, dtype, label_dtype) == ([64, 3, 32, 32], "torch.float32", "torch.int64")
    assert smallest < 0, "the images should come normalised (below 0 somewhere), not as pixels in [0, 1]"


@pytest.mark.parametrize("assignment, has_data", [("layers", False), ("lenet", True), ("efficientnet", True)])
def test_the_handout_has_a_data_section_when_the_assignment_has_checkpoints(assignment, has_data):
    text = handout(plan(load_config(), DEFAULT_CONFIG, assignment))
    assert ("## The data" in text) is has_data
    if has_data:
        assert text.index("## The data") < text.index("## `q")
