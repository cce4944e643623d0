"""The datasets of the model questions: the synthetic look-alike and the real CIFAR-10 path."""
import dataclasses

import pytest
import torch

from autograder.config import DataSettings, SyntheticData
from autograder.data import CLASSES, MEAN, STD, DataUnavailable, load, synthetic_pixels


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
