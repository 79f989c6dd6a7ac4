"""Detectors are not exported by ``zoo export``: they take a list of images of any size and return a list of boxes,
labels and scores per image, with data-dependent sizes that tracing does not capture. The error says what works."""

from __future__ import annotations

from typing import Any

from torch import nn

from zoo.errors import ExportError
from zoo.export import ExportSpec


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    raise ExportError(
        f"detector {model_name!r} cannot be exported by zoo export: it takes a list of images and returns boxes per "
        "image, sizes that tracing cannot keep dynamic. Script it instead, as torchvision supports for its "
        "detectors: torch.jit.script(zoo.api.load(CHECKPOINT).model) (it then returns (losses, detections))"
    )
