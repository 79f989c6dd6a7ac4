"""Per-item preprocessing and augmentation, for 2D images and 3D volumes alike.

They draw from torch's global RNG, which the trainer's ``SeededDataset`` seeds per (seed, epoch, index), so a resumed
run sees the same crops and flips. They are classes so that data-loader workers can pickle them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.medical.data import normalise


def _flip(tensors: list[Tensor], hflip: bool, vflip: bool) -> list[Tensor]:
    """Flip the last (left-right) and/or second-to-last (up-down) axis of every tensor, with probability 1/2 each."""
    for enabled, axis in ((hflip, -1), (vflip, -2)):
        if enabled and bool(torch.rand(()) < 0.5):
            tensors = [t.flip(axis) for t in tensors]
    return tensors


class ClassifyItem:
    """``{"image", "label"}`` to ``(normalised image, target)``; in training, a shifted crop and flips."""

    def __init__(self, mean: list[float], std: list[float], multi_label: bool, train: bool = False,
                 crop_padding: int = 0, hflip: bool = False, vflip: bool = False):
        self.mean, self.std, self.multi_label, self.train = list(mean), list(std), multi_label, train
        self.crop_padding, self.hflip, self.vflip = crop_padding, hflip, vflip

    def __call__(self, item: dict[str, Any]) -> tuple[Tensor, Tensor]:
        image = normalise(item["image"], self.mean, self.std)
        label = torch.as_tensor(item["label"])
        target = label.float() if self.multi_label else label.long().reshape(())
        if self.train:
            if self.crop_padding > 0:
                image = _shifted_crop(image, self.crop_padding, self.mean, self.std)
            (image,) = _flip([image], self.hflip, self.vflip)
        return image.contiguous(), target


def _shifted_crop(image: Tensor, padding: int, mean: list[float], std: list[float]) -> Tensor:
    """Pad every spatial side with black (the normalised zero intensity), then crop the original size back at a
    random offset: a translation of up to ``padding`` pixels."""
    spatial = image.shape[1:]
    black = torch.tensor([-m / s for m, s in zip(mean, std)]).view((-1,) + (1,) * len(spatial))
    padded = F.pad(image - black, [padding] * (2 * len(spatial))) + black
    offsets = [int(torch.randint(0, 2 * padding + 1, ())) for _ in spatial]
    return padded[(slice(None), *(slice(o, o + s) for o, s in zip(offsets, spatial)))]


class SegmentItem:
    """``{"image", "mask"}`` to ``(normalised image, mask)``; in training, a random patch and flips.

    With probability ``pos_fraction`` a training patch is centred on a pixel of a foreground class drawn uniformly
    from those in the mask (else placed uniformly), so that small lesions are seen as often as large organs; images
    smaller than the patch are padded with black and background.
    """

    def __init__(self, mean: list[float], std: list[float], train: bool = False, patch_size: list[int] | None = None,
                 pos_fraction: float = 0.5, hflip: bool = False, vflip: bool = False):
        self.mean, self.std, self.train = list(mean), list(std), train
        self.patch_size, self.pos_fraction, self.hflip, self.vflip = patch_size, pos_fraction, hflip, vflip

    def __call__(self, item: dict[str, Any]) -> tuple[Tensor, Tensor]:
        image = normalise(item["image"], self.mean, self.std)
        mask = torch.as_tensor(item["mask"]).long()
        if self.train:
            if self.patch_size is not None:
                image, mask = self._patch(image, mask, self.patch_size)
            image, mask = _flip([image, mask], self.hflip, self.vflip)
        return image.contiguous(), mask.contiguous()

    def _patch(self, image: Tensor, mask: Tensor, patch: list[int]) -> tuple[Tensor, Tensor]:
        short = [max(p - s, 0) for p, s in zip(patch, mask.shape)]
        if any(short):
            pad = [v for d in reversed(short) for v in (d // 2, d - d // 2)]
            black = torch.tensor([-m / s for m, s in zip(self.mean, self.std)]).view((-1,) + (1,) * mask.ndim)
            image = F.pad(image - black, pad) + black
            mask = F.pad(mask, pad)
        size = mask.shape
        starts = [int(torch.randint(0, s - p + 1, ())) for s, p in zip(size, patch)]
        if self.pos_fraction > 0 and bool(torch.rand(()) < self.pos_fraction):
            present = mask.unique()
            present = present[present > 0]
            if len(present):
                chosen = present[int(torch.randint(0, len(present), ()))]
                pixels = (mask == chosen).nonzero()
                centre = pixels[int(torch.randint(0, len(pixels), ()))]
                starts = [min(max(int(c) - p // 2, 0), s - p) for c, p, s in zip(centre, patch, size)]
        window = tuple(slice(st, st + p) for st, p in zip(starts, patch))
        return image[(slice(None), *window)], mask[window]
