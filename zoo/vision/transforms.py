"""Preprocessing with torchvision transforms v2: augmentation for training, the fixed pipeline for evaluation,
and the same pipeline for images a user hands to ``predict``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torchvision.transforms import v2

from zoo.errors import ZooError


def train_transform(
    image_size: int, mean: Sequence[float], std: Sequence[float], crop_padding: int, hflip: bool
) -> v2.Transform:
    steps: list[v2.Transform] = [v2.ToImage()]
    if crop_padding > 0:
        steps.append(v2.RandomCrop(image_size, padding=crop_padding, padding_mode="reflect"))
    if hflip:
        steps.append(v2.RandomHorizontalFlip())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]
    return v2.Compose(steps)


def eval_transform(mean: Sequence[float], std: Sequence[float]) -> v2.Transform:
    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])


def load_image(path: str | Path, channels: int, image_size: int) -> torch.Tensor:
    """Read an image file into the uint8 (C, H, W) layout and size the model was trained on."""
    from zoo.vision.datasets import read_image

    if not Path(path).is_file():
        raise ZooError(f"image {str(path)!r} does not exist")
    return v2.functional.resize(read_image(path, channels), [image_size, image_size], antialias=True)
