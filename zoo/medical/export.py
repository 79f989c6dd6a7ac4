"""How medical models are exported: scans in, class logits (diagnosis) or per-pixel logits (segmentation) out.

    classifiers: images (batch, channels, H, W) -> logits (batch, classes)
    segmenters:  images (batch, channels, *patch) -> logits (batch, classes, *patch), 2D or 3D

Classifiers take the image size of the checkpoint's info; segmenters take the training patch, the window that
sliding-window inference moves over larger scans (``zoo predict`` does the same). The channel count is read from the
model's first convolution, not the info: catalog ImageNet weights are loaded into a one-channel stem by default.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.export import BATCH, ExportSpec
from zoo import registry


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    channels = next(m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))).in_channels
    if registry.get_model_entry("medical", model_name).problem == "segmentation":
        sides = _sides(info.get("patch_size") or info.get("image_size") or 64, int(info.get("spatial_dims", 2)))
    else:
        sides = _sides(info.get("image_size", 224), 2)
    return ExportSpec(
        module=model,
        sample=lambda sizes: (torch.randn(sizes[BATCH], channels, *sides),),
        inputs={"images": {0: BATCH}},
        outputs={"logits": {0: BATCH}},
    )


def _sides(size: int | list[int], dims: int) -> list[int]:
    """One side per spatial axis from an int (a square) or a list (one side, or one per axis)."""
    sides = [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]
    return sides * dims if len(sides) == 1 else sides
