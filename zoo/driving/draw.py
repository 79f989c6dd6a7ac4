"""Driving's colours: Cityscapes' for classes named as in Cityscapes (also in the embedded scenes, which share the
names), for boxes and for colour masks and overlays. Other names get the shared detection problem's fixed colour
derived from the name; the box drawing itself is zoo.problems.detection.draw's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from zoo.problems.detection import draw as boxes_draw
from zoo.problems.detection.draw import save_png

__all__ = ["colour_of", "palette", "draw_detections", "colour_mask", "overlay", "save_png"]

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


def colour_of(name: str) -> tuple[int, int, int]:
    if name in _BOX_COLOURS:
        return _BOX_COLOURS[name]
    key = _ALIASES.get(name, name)
    if key in CITYSCAPES_COLOURS:
        return CITYSCAPES_COLOURS[key]
    return boxes_draw.colour_of(name)


def palette(classes: Sequence[str]) -> torch.Tensor:
    """uint8 (len(classes) + 1, 3): a colour per class index, and black for ignored pixels (index -1)."""
    names = [CITYSCAPES_COLOURS.get(_ALIASES.get(c, c)) or colour_of(c) for c in classes]
    return torch.tensor([*names, (0, 0, 0)], dtype=torch.uint8)


def draw_detections(
    image: torch.Tensor, boxes: torch.Tensor, names: Sequence[str], scores: Sequence[float] | None = None
) -> torch.Tensor:
    """The shared box drawing in driving's colours."""
    return boxes_draw.draw_detections(image, boxes, names, scores, colours=colour_of)


def colour_mask(mask: torch.Tensor, classes: Sequence[str], ignore_index: int = 255) -> torch.Tensor:
    """uint8 (3, H, W) picture of a (H, W) class-index mask; ignored pixels are black."""
    colours = palette(classes)
    index = mask.long().clone()
    index[(index < 0) | (index >= len(classes)) | (mask == ignore_index)] = len(classes)
    return colours[index].permute(2, 0, 1).contiguous()


def overlay(image: torch.Tensor, coloured: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    blended = image.float() * (1 - alpha) + coloured.float() * alpha
    return blended.round().clamp(0, 255).to(torch.uint8)
