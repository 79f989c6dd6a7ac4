"""Mask-aware augmentation of segmentation items, with the same torchvision v2 steps as detection's.

Images and masks (``tv_tensors.Mask``) go through one v2 pipeline, so a flip or a zoom moves them together; zooming
out pads masks with the ignore index. Randomness comes from torch's global generator, which the trainer seeds per
(seed, epoch, index).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from zoo.problems.detection.transforms import IMAGENET_MEAN, IMAGENET_STD, RandomRescale, photometric_steps

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "RandomRescale", "SegmentationTransform"]


class SegmentationTransform:
    """``(uint8 image, mask)`` -> ``(normalised float image, int64 mask)``, jointly augmented."""

    def __init__(
        self, hflip: bool = False, scale_range: Sequence[float] = (1.0, 1.0), photometric: float = 0.0,
        mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
    ):
        steps: list[v2.Transform] = []
        if hflip:
            steps.append(v2.RandomHorizontalFlip())
        if tuple(scale_range) != (1.0, 1.0):
            steps.append(RandomRescale(scale_range))
        steps += photometric_steps(photometric)
        steps += [v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True),
                  v2.Normalize(list(mean), list(std))]
        self.pipeline = v2.Compose(steps)

    def __call__(self, item: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = item
        image, mask = self.pipeline(tv_tensors.Image(image), tv_tensors.Mask(mask))
        return image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor).long()
