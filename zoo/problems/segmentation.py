"""Dense segmentation files, shared by medical and driving: a mask PNG whose pixel values are the class indices and
whose palette colours them, so the same file feeds a program and reads at a glance in any viewer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def class_colour(name: str) -> tuple[int, int, int]:
    """A fixed, bright colour for a class name, the same in every image and run."""
    digest = hashlib.sha256(name.encode()).digest()
    return tuple(64 + int(b) * 191 // 255 for b in digest[:3])  # type: ignore[return-value]


def write_index_mask(path: str | Path, mask: np.ndarray, colours: Sequence[Sequence[int]],
                     background: int | None = 0, ignore_index: int = 255) -> Path:
    """A 2D mask of class indices as a palette ("P") PNG: values stay the indices, ``colours[i]`` shows class ``i``,
    the ``background`` class (when given) and ``ignore_index`` show black."""
    from PIL import Image

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a PNG mask must be 2D, got shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"a PNG mask holds class indices 0-255, got {mask.min()}..{mask.max()}")
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(colours)] = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)[:256]
    if background is not None:
        palette[background] = 0
    palette[ignore_index] = 0
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(palette.reshape(-1).tolist())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
