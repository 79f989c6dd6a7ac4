"""Image-classification datasets: torchvision's loaders for the upstream files, and the user's own folders."""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils.data import Dataset


@dataclass
class ImageSplit:
    """One split of an image dataset and what a model and its preprocessing need to know about it.

    Items of ``dataset`` are ``(image, label)``: image a uint8 tensor (C, H, W) or a PIL image, label an int.
    """

    dataset: Dataset
    classes: list[str]
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
