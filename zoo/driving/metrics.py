"""Segmentation metrics as a torchmetrics Metric (synchronised across ranks by torchmetrics): mean IoU with pixel
accuracy from a confusion matrix, returned as a flat dict of scalars, the trainer's format. Box AP is the shared
detection problem's (zoo.problems.detection.metrics)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric


class SegmentationScores(Metric):
    """``miou`` (mean over classes present in labels or predictions), ``pixel_accuracy`` and ``iou_<name>``,
    ignoring pixels labelled ``ignore_index``."""

    full_state_update = False

    def __init__(self, classes: Sequence[str], ignore_index: int = 255):
        super().__init__()
        self.class_names, self.ignore_index = list(classes), ignore_index
        n = len(self.class_names)
        self.add_state("confusion", torch.zeros(n, n, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predicted: torch.Tensor, target: torch.Tensor) -> None:
        """``predicted``: class indices (N, H, W) or logits (N, C, H, W); ``target``: class indices (N, H, W)."""
        if predicted.ndim == target.ndim + 1:
            predicted = predicted.argmax(1)
        n = len(self.class_names)
        keep = target != self.ignore_index
        pairs = target[keep].long() * n + predicted[keep].long()
        self.confusion += torch.bincount(pairs, minlength=n * n).reshape(n, n)

    def compute(self) -> dict[str, torch.Tensor]:
        confusion = self.confusion.double()
        hits = confusion.diagonal()
        union = confusion.sum(0) + confusion.sum(1) - hits
        iou = hits / union  # NaN for classes absent from both labels and predictions
        out = {"miou": iou.nanmean().float(), "pixel_accuracy": (hits.sum() / confusion.sum().clamp(min=1)).float()}
        for name, value in zip(self.class_names, iou):
            if not torch.isnan(value):
                out[f"iou_{name}"] = value.float()
        return out
