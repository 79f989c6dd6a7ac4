"""Pictures of detections: boxes outlined in their class colour and captioned "name 0.93", written as PNG files.

A class gets a fixed colour derived from its name, so it keeps its colour across images and runs; a domain may pass
its own colours (driving uses Cityscapes').
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import draw_bounding_boxes

MIN_DRAWN_SIDE = 320  # smaller images are enlarged before drawing so that label text stays readable

Colours = Callable[[str], tuple[int, int, int]]


def colour_of(name: str) -> tuple[int, int, int]:
    """A bright colour that depends only on the name."""
    digest = hashlib.sha256(name.encode()).digest()
    return (64 + digest[0] % 192, 64 + digest[1] % 192, 64 + digest[2] % 192)


def draw_detections(
    image: torch.Tensor, boxes: torch.Tensor, names: Sequence[str], scores: Sequence[float] | None = None,
    colours: Colours = colour_of,
) -> torch.Tensor:
    """uint8 (3, H', W'): the image with each box outlined in its class colour and captioned "name 0.93".

    Images whose short side is under MIN_DRAWN_SIDE pixels are enlarged by a whole factor first (nearest
    neighbour, boxes scaled alike).
    """
    factor = max(1, math.ceil(MIN_DRAWN_SIDE / max(min(image.shape[-2:]), 1)))
    if factor > 1:
        image = image.repeat_interleave(factor, -2).repeat_interleave(factor, -1)
        boxes = boxes * factor
    captions = [f"{n} {s:.2f}" for n, s in zip(names, scores)] if scores is not None else list(names)
    if len(boxes) == 0:
        return image
    fill = [colours(n) for n in names]
    text = [(0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255) for r, g, b in fill]
    return draw_bounding_boxes(image, boxes.float(), labels=captions, colors=fill, width=2, label_colors=text,
                               label_background_colors=fill, fill_labels=True)


def save_png(image: torch.Tensor, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())).save(path)
    return path
