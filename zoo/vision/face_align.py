"""Face alignment before embedding, behind one small interface: ``aligner(image) -> face crop``.

The default input is a face already cropped and aligned (the embedded identities, CASIA-WebFace and VGGFace2 as
distributed aligned, LFW's deep-funneled set), so the default aligner does nothing. ``center_crop`` keeps the
central ``crop_fraction`` of each side, which is where LFW's 250x250 images hold the face (about 0.5 of the side
for the eyes-to-chin region). A landmark-based aligner (a detector plus a similarity warp to five reference
points) fits the same interface: a callable from a uint8 (C, H, W) tensor to a uint8 (C, h, w) crop, registered
in :data:`ALIGNERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from zoo.errors import ConfigError

Aligner = Callable[[Tensor], Tensor]


def no_alignment(image: Tensor) -> Tensor:
    return image


class CenterCrop:
    """The central ``fraction`` of the height and of the width (a square image gives a square crop)."""

    def __init__(self, fraction: float):
        if not 0 < fraction <= 1:
            raise ConfigError(f"crop_fraction must be in (0, 1], got {fraction!r}")
        self.fraction = fraction

    def __call__(self, image: Tensor) -> Tensor:
        h, w = image.shape[-2:]
        ch, cw = max(1, round(h * self.fraction)), max(1, round(w * self.fraction))
        top, left = (h - ch) // 2, (w - cw) // 2
        return image[..., top : top + ch, left : left + cw]


ALIGNERS: dict[str, Callable[[float], Aligner]] = {
    "none": lambda fraction: no_alignment,
    "center_crop": CenterCrop,
}


def build_aligner(name: str, crop_fraction: float = 1.0) -> Aligner:
    if name not in ALIGNERS:
        raise ConfigError(f"unknown face aligner {name!r}; choose one of {', '.join(ALIGNERS)}")
    return ALIGNERS[name](crop_fraction)
