"""Preprocessing with torchvision transforms v2: augmentation for training, the fixed pipeline for evaluation,
and the same pipeline for images a user hands to ``predict``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torchvision.transforms import v2



def train_transform(
    image_size: int, mean: Sequence[float], std: Sequence[float], crop_padding: int, hflip: bool
) -> v2.Transform:
    """Images already ``image_size`` square (CIFAR, MNIST) get a random crop after padding and a flip; photos of
    other sizes (an image folder keeps their aspect ratio) get the reference recipe for photos: a random resized
    crop, a flip and TrivialAugment."""
    flip = [v2.RandomHorizontalFlip()] if hflip else []
    fixed: list[v2.Transform] = []
    if crop_padding > 0:
        fixed.append(v2.RandomCrop(image_size, padding=crop_padding, padding_mode="reflect"))
    photo = [v2.RandomResizedCrop(image_size, scale=PHOTO_CROP_SCALE, antialias=True), *flip, v2.TrivialAugmentWide()]
    return v2.Compose([
        v2.ToImage(),
        BySize(image_size, v2.Compose([*fixed, *flip]), v2.Compose(photo)),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(mean), list(std)),
    ])


PHOTO_CROP_SCALE = (0.25, 1.0)  # of the image area; torchvision's reference recipe uses (0.08, 1) for ImageNet


class BySize:
    """``square`` for images already ``size`` x ``size``, ``other`` for the rest (a class, so workers pickle it)."""

    def __init__(self, size: int, square: Any, other: Any):
        self.size, self.square, self.other = size, square, other

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return self.square(image) if tuple(image.shape[-2:]) == (self.size, self.size) else self.other(image)


def eval_transform(mean: Sequence[float], std: Sequence[float]) -> v2.Transform:
    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])


class BatchAugment:
    """The training augmentation of :func:`train_transform` for a whole uint8 batch on its device: a random crop
    after reflect padding and a horizontal flip drawn per image (by ``zoo.data.SampleRandom``), then normalisation."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], crop_padding: int, hflip: bool):
        self.mean, self.std, self.crop_padding, self.hflip = list(mean), list(std), crop_padding, hflip

    def __call__(self, items: tuple[torch.Tensor, torch.Tensor], random: Any) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = items
        x = images.float().div_(255)
        b, c, h, w = x.shape
        rows = torch.arange(h, device=x.device).expand(b, h)
        cols = torch.arange(w, device=x.device).expand(b, w)
        if self.crop_padding > 0:
            p = self.crop_padding
            x = torch.nn.functional.pad(x, (p, p, p, p), mode="reflect")
            rows = rows + random.integers(0, 2 * p + 1)[:, None]
            cols = cols + random.integers(1, 2 * p + 1)[:, None]
        if self.hflip:
            cols = torch.where((random.uniform(2) < 0.5)[:, None], cols.flip(1), cols)
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        channel = torch.arange(c, device=x.device)[None, :, None, None]
        x = x[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
        return normalize(x, self.mean, self.std), labels


class BatchNormalize:
    """The evaluation pipeline of :func:`eval_transform` for a whole uint8 batch on its device."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean, self.std = list(mean), list(std)

    def __call__(self, items: tuple[torch.Tensor, torch.Tensor], random: Any) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = items
        return normalize(images.float().div_(255), self.mean, self.std), labels


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    shape = (1, -1, 1, 1)
    return (x - torch.tensor(mean, device=x.device).view(shape)) / torch.tensor(std, device=x.device).view(shape)


def load_image(path: str | Path, channels: int, image_size: int) -> torch.Tensor:
    """Read an image file into the uint8 (C, H, W) layout and size the model was trained on: the shorter side
    resized to ``image_size`` and the centre cut out, as the evaluation of an image folder does."""
    from zoo.vision.datasets import read_image

    image = read_image(path, channels, image_size)
    if tuple(image.shape[-2:]) == (image_size, image_size):
        return image
    image = v2.functional.resize(image, image_size, antialias=True)
    return v2.functional.center_crop(image, [image_size, image_size])
