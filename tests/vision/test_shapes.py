"""The shapes dataset: exact reproducibility, the API the trainer relies on, and that it needs a CNN to solve."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ConfigError
from zoo.vision import shapes
from zoo.vision.models import small_cnn


def test_classes_are_many_and_distinct():
    assert len(shapes.CLASSES) >= 10
    assert len(set(shapes.CLASSES)) == len(shapes.CLASSES)


def test_generate_dtype_shape_and_balance():
    images, labels = shapes.generate(205, seed=3)
    assert images.dtype == torch.uint8 and images.shape == (205, 3, 32, 32)
    assert labels.dtype == torch.int64 and labels.shape == (205,)
    counts = torch.bincount(labels, minlength=len(shapes.CLASSES))
    assert counts.min() >= 205 // len(shapes.CLASSES) and counts.max() <= 205 // len(shapes.CLASSES) + 1
    assert shapes.generate(20, seed=3, image_size=24)[0].shape == (20, 3, 24, 24)


def test_same_seed_is_bit_identical():
    first, second = shapes.generate(300, seed=5), shapes.generate(300, seed=5)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_same_seed_is_bit_identical_across_thread_counts():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = shapes.generate(300, seed=5)[0]
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(single, shapes.generate(300, seed=5)[0])
    assert torch.get_num_threads() == threads


def test_different_seeds_differ():
    a, b = shapes.generate(100, seed=1)[0], shapes.generate(100, seed=2)[0]
    assert not torch.equal(a, b)
    assert (a.float() - b.float()).abs().mean() > 20


def test_splits_items_and_metadata():
    train, val = shapes.shapes("train"), shapes.shapes("val")
    assert len(train.dataset) == shapes.NUM_TRAIN and len(val.dataset) == shapes.NUM_VAL
    image, label = train.dataset[7]
    assert image.dtype == torch.uint8 and image.shape == (3, 32, 32)
    assert type(label) is int and 0 <= label < len(shapes.CLASSES)
    assert train.classes == list(shapes.CLASSES)
    assert (train.channels, train.image_size) == (3, 32)
    assert len(train.mean) == len(train.std) == 3


def test_test_is_val_and_building_twice_is_cached():
    val = shapes.shapes("val")
    assert shapes.shapes("test").dataset.images is val.dataset.images
    assert shapes.shapes("train").dataset.images is shapes.shapes("train").dataset.images


def test_root_and_download_are_ignored():
    split = shapes.shapes("val", root="/nonexistent", download=True, num_val=50, seed=9)
    assert len(split.dataset) == 50


def test_unknown_split_names_the_valid_ones():
    with pytest.raises(ConfigError, match="train.*val"):
        shapes.shapes("validation")


def test_train_and_val_share_no_image():
    train = shapes.shapes("train").dataset.images.flatten(1).numpy()
    val = shapes.shapes("val").dataset.images.flatten(1).numpy()
    seen = {row.tobytes() for row in train}
    assert not any(row.tobytes() in seen for row in val)


def test_mean_and_std_constants_match_the_train_data():
    images = shapes.shapes("train").dataset.images.float() / 255
    mean, std = images.mean((0, 2, 3)), images.std((0, 2, 3))
    assert torch.allclose(mean, torch.tensor(shapes.MEAN), atol=0.02)
    assert torch.allclose(std, torch.tensor(shapes.STD), atol=0.02)


def _fit(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int, lr: float) -> None:
    """AdamW on mini-batches drawn from a seeded generator, so the outcome is the same on every run."""
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(labels), (32,), generator=generator)
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        return (model(images).argmax(1) == labels).float().mean().item()


def test_a_small_cnn_learns_what_a_linear_classifier_cannot():
    """The dataset is only useful as a default if convolution matters: same data and steps, far apart accuracies.

    Four of the classes keep it to a few seconds; on the full set the CNN needs about 300 steps to take off.
    """
    keep = torch.tensor([shapes.CLASSES.index(name) for name in ("circle", "cross", "ring", "arrow")])
    images, labels = shapes.generate(6000, seed=123)
    chosen = (labels.unsqueeze(1) == keep).any(1)
    mean, std = torch.tensor(shapes.MEAN).view(1, 3, 1, 1), torch.tensor(shapes.STD).view(1, 3, 1, 1)
    x = (images[chosen].float() / 255 - mean) / std
    y = torch.searchsorted(keep, labels[chosen])
    x_train, y_train, x_val, y_val = x[:1800], y[:1800], x[1800:], y[1800:]

    torch.manual_seed(0)
    cnn = small_cnn(num_classes=len(keep), in_channels=3, width=8)
    _fit(cnn, x_train, y_train, steps=200, lr=3e-3)
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(x.shape[1] * x.shape[2] * x.shape[3], len(keep)))
    _fit(linear, x_train, y_train, steps=200, lr=1e-3)

    cnn_top1, linear_top1 = _accuracy(cnn, x_val, y_val), _accuracy(linear, x_val, y_val)
    assert linear_top1 < 0.4, linear_top1
    assert cnn_top1 > linear_top1 + 0.25, (cnn_top1, linear_top1)
