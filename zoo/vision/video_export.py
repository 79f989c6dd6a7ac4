"""How video classifiers are exported: ``clips (batch, 3, frames, size, size) -> logits (batch, classes)``.

Frames and side come from the checkpoint's info (or a catalog entry's preprocessing); only the batch is dynamic,
since every model saw one clip shape in training and prediction cuts clips to it. Averaging the clips of a video is
left to the caller, as ``zoo predict`` does it (the mean of their softmax).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.export import BATCH, ExportSpec


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    clip = info.get("clip", info)
    frames, size = int(clip.get("frames", 16)), int(clip.get("size", clip.get("image_size", 112)))
    return ExportSpec(
        module=model,
        sample=lambda sizes: (torch.randn(sizes[BATCH], 3, frames, size, size),),
        inputs={"clips": {0: BATCH}},
        outputs={"logits": {0: BATCH}},
    )
