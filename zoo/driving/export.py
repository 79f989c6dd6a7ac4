"""How driving models are exported: segmenters as ``images (batch, 3, H, W) -> logits (batch, classes, H, W)``.

torchvision's segmenters return a dict (``"out"``, and ``"aux"`` from an auxiliary head used only in training); the
export keeps ``"out"``. H and W are the checkpoint's image size, to which ``zoo predict`` resizes every image.
Detectors are not exported: they take a list of images of any size and return a list of boxes, labels and scores per
image, with data-dependent sizes that tracing does not capture.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo import registry
from zoo.errors import ExportError
from zoo.export import BATCH, ExportSpec
from zoo.problems.detection.export import export_spec as detection_export_spec


class SegmentationLogits(nn.Module):
    """A torchvision segmenter giving its ``"out"`` logits tensor rather than a dict."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> Tensor:
        return self.model(images)["out"]


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    segmenters = registry.get_task("driving").models_for("segmentation")
    if model_name not in segmenters:
        try:
            return detection_export_spec(model, model_name, info)
        except ExportError as error:
            raise ExportError(f"driving {error}; or export a segmentation model ({', '.join(segmenters)})") from None
    size = info.get("image_size") or info.get("resize_size") or 520
    height, width = (size, size) if isinstance(size, int) else size
    return ExportSpec(
        module=SegmentationLogits(model).eval(),
        sample=lambda sizes: (torch.randn(sizes[BATCH], 3, int(height), int(width)),),
        inputs={"images": {0: BATCH}},
        outputs={"logits": {0: BATCH}},
    )
