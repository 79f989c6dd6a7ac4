"""Sliced inference for small objects: overlapping tiles, each seen at the model's input size, merged with NMS.

The idea SAHI popularised (Akyon et al., 2022): a detector resizes its input to a fixed short side (``min_size``), so
a 16-pixel car in a large frame shrinks below what its finest feature level can see; cut into tiles, every tile is
enlarged to that same short side and small objects grow with it. The tiles overlap so an object cut by one tile's
edge is whole in its neighbour; the whole image is also run once (SAHI's "standard prediction") so large objects are
not lost to the cuts. All boxes are shifted back to image pixels and merged by class-wise NMS, highest scores
first, keeping at most the model's ``detections_per_img``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.ops import batched_nms

from zoo.errors import ConfigError


@dataclass(frozen=True)
class SliceSettings:
    size: int  # tile side in pixels (tiles at image borders are shifted inwards, never padded)
    overlap: float = 0.25  # fraction of a tile shared with its neighbour
    nms: float = 0.5  # IoU above which boxes of one class are merged
    whole_image: bool = True  # also run the whole image once

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ConfigError(f"slice_size must be at least 8 pixels, got {self.size}")
        if not 0 <= self.overlap < 1:
            raise ConfigError(f"slice_overlap must be in [0, 1), got {self.overlap}")
        if not 0 < self.nms <= 1:
            raise ConfigError(f"slice_nms must be in (0, 1], got {self.nms}")


def tile_starts(length: int, size: int, overlap: float) -> list[int]:
    """Offsets of tiles of ``size`` covering ``length`` with at least ``overlap`` shared; the last ends at the edge."""
    if length <= size:
        return [0]
    step = max(int(size * (1 - overlap)), 1)
    starts = list(range(0, length - size, step))
    return [*starts, length - size]


def tiles(height: int, width: int, settings: SliceSettings) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` of every tile of an image."""
    size_y, size_x = min(settings.size, height), min(settings.size, width)
    return [(x, y, x + size_x, y + size_y) for y in tile_starts(height, size_y, settings.overlap)
            for x in tile_starts(width, size_x, settings.overlap)]


def merge(found: Sequence[dict[str, torch.Tensor]], iou: float, limit: int) -> dict[str, torch.Tensor]:
    """One set of detections from several, already in image pixels: class-wise NMS, the ``limit`` best kept."""
    boxes = torch.cat([f["boxes"].float() for f in found])
    scores = torch.cat([f["scores"].float() for f in found])
    labels = torch.cat([f["labels"] for f in found])
    keep = batched_nms(boxes, scores, labels, iou)[:limit]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


@torch.no_grad()
def sliced_detections(
    model: nn.Module, images: Sequence[torch.Tensor], settings: SliceSettings,
    whole: Sequence[dict[str, torch.Tensor]] | None = None, batch: int = 16,
) -> list[dict[str, torch.Tensor]]:
    """Detections of ``model`` (in evaluation mode) on each float image (3, H, W) by tiles; ``whole``: the model's
    detections on the whole images, when the caller has them already."""
    limit = int(getattr(model, "detections_per_img", 0) or getattr(getattr(model, "roi_heads", None),
                                                                   "detections_per_img", 0) or 300)
    if whole is None and settings.whole_image:
        whole = model(list(images))
    results = []
    for k, image in enumerate(images):
        height, width = image.shape[-2:]
        windows = tiles(height, width, settings)
        found = [whole[k]] if settings.whole_image and whole is not None else []
        for start in range(0, len(windows), batch):
            chunk = windows[start:start + batch]
            outputs = model([image[:, y0:y1, x0:x1] for x0, y0, x1, y1 in chunk])
            for (x0, y0, _, _), out in zip(chunk, outputs):
                shift = torch.tensor([x0, y0, x0, y0], dtype=out["boxes"].dtype, device=out["boxes"].device)
                found.append({"boxes": out["boxes"] + shift, "scores": out["scores"], "labels": out["labels"]})
        results.append(merge(found, settings.nms, limit))
    return results
