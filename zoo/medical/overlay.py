"""Predicted masks as files: the mask itself (class index per pixel) and an overlay a person can read at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from zoo.problems.segmentation import write_index_mask

# Distinct colours for classes 1, 2, ... (class 0, the background, is left uncoloured).
PALETTE = np.array(
    [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
     (240, 50, 230), (210, 245, 60), (250, 190, 212)],
    dtype=np.float32,
)


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """A 2D mask as an 8-bit PNG whose pixel values are the class indices (0 background), in a palette that shows
    each class in its overlay colour."""
    colours = [(0, 0, 0), *(tuple(int(v) for v in c) for c in PALETTE)]
    write_index_mask(path, mask, colours * (1 + int(mask.max(initial=0)) // len(colours)))


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGB uint8 (H, W, 3): the image in grey (scaled to its own range) with each class tinted and outlined."""
    grey = image.astype(np.float32)
    if grey.ndim == 3:
        grey = grey.mean(0)
    low, high = np.percentile(grey, [0.5, 99.5])
    grey = np.clip((grey - low) / max(high - low, 1e-6), 0, 1) * 255
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    for k in range(1, int(mask.max()) + 1):
        region = mask == k
        if not region.any():
            continue
        colour = PALETTE[(k - 1) % len(PALETTE)]
        rgb[region] = (1 - alpha) * rgb[region] + alpha * colour
        rgb[_edge(region)] = colour
    return rgb.clip(0, 255).astype(np.uint8)


def _edge(region: np.ndarray) -> np.ndarray:
    """Pixels of ``region`` with a 4-neighbour outside it: the outline."""
    padded = np.pad(region, 1, constant_values=False)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return region & ~inner


def write_overlay(path: str | Path, image: np.ndarray, mask: np.ndarray) -> None:
    Image.fromarray(overlay(image, mask)).save(path)
