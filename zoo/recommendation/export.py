"""How recommenders are exported: the pair-scoring forward over id tensors.

    users (batch,) int64, items (batch, candidates) int64 -> scores (batch, candidates) float32

Ids are zoo's indices (the row of a raw id in the checkpoint's ``user_ids`` and ``item_ids``). Batch and candidate
count are dynamic: passing every item index scores the whole catalogue, as ``zoo predict`` does before removing the
items a user has seen. The tables a model reads (side features, counts) are buffers, exported with the weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo.export import BATCH, ExportSpec

CANDIDATES = "candidates"


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    num_users, num_items = model.num_users, model.num_items

    def sample(sizes: dict[str, int]) -> tuple[Tensor, Tensor]:
        batch = sizes[BATCH]
        return torch.randint(0, num_users, (batch,)), torch.randint(0, num_items, (batch, sizes[CANDIDATES]))

    return ExportSpec(
        module=model,
        sample=sample,
        inputs={"users": {0: BATCH}, "items": {0: BATCH, 1: CANDIDATES}},
        outputs={"scores": {0: BATCH, 1: CANDIDATES}},
        axes={CANDIDATES: (min(8, num_items), max(1, min(8, num_items) - 3))},
    )
