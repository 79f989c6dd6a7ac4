"""How image classifiers are exported: ``images (batch, channels, size, size) -> logits (batch, classes)``.

The side and channel count come from the checkpoint's info (a catalog entry's preprocessing); only the batch is
dynamic, since every model saw one image size in training and prediction resizes to it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.export import BATCH, ExportSpec


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    size, channels = int(info.get("image_size", 224)), int(info.get("channels", 3))
    return ExportSpec(
        module=model,
        sample=lambda sizes: (torch.randn(sizes[BATCH], channels, size, size),),
        inputs={"images": {0: BATCH}},
        outputs={"logits": {0: BATCH}},
    )
