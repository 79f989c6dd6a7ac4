"""What every medical loader returns, and the datasets its items come from.

Items are dicts, so one dataset can serve both problems: ``image`` (C, *spatial) as uint8 (divided by 255 later) or
float32 (already mapped by its intensity spec), ``label`` (an int, or a float vector of 0/1 for multi-label sets) and
``mask`` (*spatial, integer class per pixel, 0 the background). A classifier reads ``label``, a segmenter ``mask``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError

SPLITS = ("train", "val", "test")


@dataclass
class MedicalSplit:
    """One split of a medical dataset and what models, metrics and ``predict`` must know about it."""

    dataset: Dataset
    name: str
    channels: int
    spatial_dims: int = 2
    classes: list[str] | None = None  # diagnosis labels; None when the set has no labels
    multi_label: bool = False  # several labels may hold at once (ChestMNIST); labels are 0/1 vectors
    mask_classes: list[str] | None = None  # segmentation classes, 0 the background; None when there are no masks
    image_size: list[int] | None = None  # the size every item shares, None when sizes vary
    resize: list[int] | None = None  # the in-plane size the loader resizes images to (predict does the same)
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    intensity: dict[str, Any] = field(default_factory=lambda: {"mode": "scale"})


class ArrayDataset(Dataset):
    """Images, and labels and/or masks, held in memory: a tensor (N, C, *spatial) when all share one shape, else a
    list of (C, *spatial) tensors (masks alike); no decoding per item."""

    def __init__(self, images: Tensor | list[Tensor], labels: Tensor | None = None,
                 masks: Tensor | list[Tensor] | None = None):
        if isinstance(images, Tensor) and images.ndim < 4:
            raise ValueError(f"images must be (N, C, *spatial), got shape {tuple(images.shape)}")
        for name, values in (("labels", labels), ("masks", masks)):
            if values is not None and len(values) != len(images):
                raise ValueError(f"{name} hold {len(values)} entries for {len(images)} images")
        self.images, self.labels, self.masks = images, labels, masks

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = {"image": self.images[index]}
        if self.labels is not None:
            item["label"] = self.labels[index]
        if self.masks is not None:
            item["mask"] = self.masks[index].long()
        return item


def canonical_split(split: str, dataset: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset {dataset!r}. Valid splits: {', '.join(SPLITS)}.")
    return split


def to_float(image: Tensor) -> Tensor:
    """uint8 images to [0, 1]; float images are already mapped by their intensity spec."""
    return image.float().div_(255) if image.dtype == torch.uint8 else image.float()


def normalise(image: Tensor, mean: list[float], std: list[float]) -> Tensor:
    shape = (-1,) + (1,) * (image.ndim - 1)
    return (to_float(image) - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)


def split_indices(count: int, val_fraction: float, seed: int, strata: list[Any] | None = None) -> dict[str, list[int]]:
    """A reproducible train/val split of ``count`` items, stratified by ``strata`` when given."""
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    groups: dict[Any, list[int]] = {}
    for index in range(count):
        groups.setdefault(strata[index] if strata is not None else 0, []).append(index)
    rng = random.Random(seed)
    result: dict[str, list[int]] = {"train": [], "val": []}
    for key in sorted(groups, key=repr):
        members = groups[key]
        rng.shuffle(members)
        size = min(len(members) - 1, max(1, round(len(members) * val_fraction))) if len(members) > 1 else 0
        result["val"] += sorted(members[:size])
        result["train"] += sorted(members[size:])
    return {k: sorted(v) for k, v in result.items()}
