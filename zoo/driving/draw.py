"""Pictures of predictions: boxes with labels and scores, colour masks and overlays, written as PNG files.

Classes named as in Cityscapes get Cityscapes' colours (also in the embedded scenes, which share the names); other
names get a fixed colour derived from the name, so a class keeps its colour across images and runs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import draw_bounding_boxes

CITYSCAPES_COLOURS: dict[str, tuple[int, int, int]] = {
    "road": (128, 64, 128), "sidewalk": (244, 35, 232), "building": (70, 70, 70), "wall": (102, 102, 156),
    "fence": (190, 153, 153), "pole": (153, 153, 153), "traffic_light": (250, 170, 30), "traffic_sign": (220, 220, 0),
    "vegetation": (107, 142, 35), "terrain": (152, 251, 152), "sky": (70, 130, 180), "person": (220, 20, 60),
    "rider": (255, 0, 0), "car": (0, 0, 142), "truck": (0, 0, 70), "bus": (0, 60, 100), "train": (0, 80, 100),
    "motorcycle": (0, 0, 230), "bicycle": (119, 11, 32),
}
# Detection names that differ from Cityscapes' but mean the same thing, and boxes that need a brighter colour.
_ALIASES = {"pedestrian": "person", "Pedestrian": "person", "cyclist": "rider", "Cyclist": "rider", "traffic light":
            "traffic_light", "motorbike": "motorcycle"}
_BOX_COLOURS = {"car": (40, 90, 255), "truck": (0, 200, 255), "Car": (40, 90, 255), "Truck": (0, 200, 255)}
MIN_DRAWN_SIDE = 320  # smaller images are enlarged before drawing so that label text stays readable


def colour_of(name: str) -> tuple[int, int, int]:
    if name in _BOX_COLOURS:
        return _BOX_COLOURS[name]
    key = _ALIASES.get(name, name)
    if key in CITYSCAPES_COLOURS:
        return CITYSCAPES_COLOURS[key]
    digest = hashlib.sha256(name.encode()).digest()
    return (64 + digest[0] % 192, 64 + digest[1] % 192, 64 + digest[2] % 192)


def palette(classes: Sequence[str]) -> torch.Tensor:
    """uint8 (len(classes) + 1, 3): a colour per class index, and black for ignored pixels (index -1)."""
    names = [CITYSCAPES_COLOURS.get(_ALIASES.get(c, c)) or colour_of(c) for c in classes]
    return torch.tensor([*names, (0, 0, 0)], dtype=torch.uint8)


def draw_detections(
    image: torch.Tensor, boxes: torch.Tensor, names: Sequence[str], scores: Sequence[float] | None = None
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
    colours = [colour_of(n) for n in names]
    text = [(0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255) for r, g, b in colours]
    return draw_bounding_boxes(image, boxes.float(), labels=captions, colors=colours, width=2, label_colors=text,
                               label_background_colors=colours, fill_labels=True)


def colour_mask(mask: torch.Tensor, classes: Sequence[str], ignore_index: int = 255) -> torch.Tensor:
    """uint8 (3, H, W) picture of a (H, W) class-index mask; ignored pixels are black."""
    colours = palette(classes)
    index = mask.long().clone()
    index[(index < 0) | (index >= len(classes)) | (mask == ignore_index)] = len(classes)
    return colours[index].permute(2, 0, 1).contiguous()


def overlay(image: torch.Tensor, coloured: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    blended = image.float() * (1 - alpha) + coloured.float() * alpha
    return blended.round().clamp(0, 255).to(torch.uint8)


def save_png(image: torch.Tensor, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())).save(path)
    return path
