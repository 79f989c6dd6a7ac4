"""Metrics: AUROC and accuracy for diagnosis (macro and per class), Dice and IoU for segmentation (per class).

Dice and IoU follow MONAI's ``DiceMetric``/``MeanIoU`` defaults: computed per image (per volume in 3D) and per
foreground class, then averaged over the images where the class is present in the reference mask (an image without
the class says nothing about how well it is outlined). The background is left out.
"""

from __future__ import annotations

import re

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MultilabelAccuracy,
    MultilabelAUROC,
)
from torchmetrics.wrappers import ClasswiseWrapper


def metric_names(classes: list[str]) -> list[str]:
    """Class names usable in metric keys: lower-case words joined by underscores, unique."""
    names: list[str] = []
    for i, name in enumerate(classes):
        clean = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or f"class_{i}"
        names.append(clean if clean not in names else f"{clean}_{i}")
    return names


def classification_metrics(classes: list[str], multi_label: bool) -> MetricCollection:
    """``auroc`` (macro, one-vs-rest), ``accuracy`` and per-class ``auroc_<class>``, ``accuracy_<class>``.

    Multi-class: ``accuracy`` over all images, ``balanced_accuracy`` the mean per-class recall, ``accuracy_<class>``
    that class's recall. Multi-label: ``accuracy`` the mean over labels of each label's accuracy at 0.5.
    """
    n, labels = len(classes), metric_names(classes)
    if multi_label:
        metrics = {
            "auroc": MultilabelAUROC(n, average="macro"),
            "accuracy": MultilabelAccuracy(n, average="macro"),
            "auroc_": ClasswiseWrapper(MultilabelAUROC(n, average=None), labels, prefix="auroc_"),
            "accuracy_": ClasswiseWrapper(MultilabelAccuracy(n, average=None), labels, prefix="accuracy_"),
        }
    else:
        metrics = {
            "auroc": MulticlassAUROC(n, average="macro"),
            "accuracy": MulticlassAccuracy(n, average="micro"),
            "balanced_accuracy": MulticlassAccuracy(n, average="macro"),
            "auroc_": ClasswiseWrapper(MulticlassAUROC(n, average=None), labels, prefix="auroc_"),
            "accuracy_": ClasswiseWrapper(MulticlassAccuracy(n, average=None), labels, prefix="accuracy_"),
        }
    return MetricCollection(metrics, compute_groups=False)


def dice_iou(prediction: Tensor, target: Tensor, num_classes: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per image and foreground class (B, K-1): Dice, IoU, and whether the class is in the reference mask.

    ``prediction`` and ``target`` hold class indices (B, *S). Where the reference lacks a class the scores are 0
    and ``present`` is False.
    """
    dims = tuple(range(1, target.ndim))
    dice, iou, present = [], [], []
    for k in range(1, num_classes):
        p, t = prediction == k, target == k
        intersection = (p & t).sum(dims).double()
        predicted, reference = p.sum(dims).double(), t.sum(dims).double()
        union = predicted + reference - intersection
        dice.append(torch.where(reference > 0, 2 * intersection / (predicted + reference).clamp(min=1), 0.0))
        iou.append(torch.where(reference > 0, intersection / union.clamp(min=1), 0.0))
        present.append(reference > 0)
    return torch.stack(dice, 1), torch.stack(iou, 1), torch.stack(present, 1)


class DiceIoU(Metric):
    """Mean Dice and IoU per foreground class over the images holding it; ``dice`` and ``iou`` average the classes."""

    full_state_update = False

    def __init__(self, classes: list[str], **kwargs):
        super().__init__(**kwargs)
        self.num_classes = len(classes)
        self.names = metric_names(classes)[1:]
        zeros = torch.zeros(self.num_classes - 1, dtype=torch.float64)
        self.add_state("dice_sum", zeros.clone(), dist_reduce_fx="sum")
        self.add_state("iou_sum", zeros.clone(), dist_reduce_fx="sum")
        self.add_state("count", zeros.clone(), dist_reduce_fx="sum")

    def update(self, prediction: Tensor, target: Tensor) -> None:
        dice, iou, present = dice_iou(prediction, target, self.num_classes)
        self.dice_sum += dice.sum(0)
        self.iou_sum += iou.sum(0)
        self.count += present.sum(0)

    def compute(self) -> dict[str, Tensor]:
        seen = self.count > 0
        dice = torch.where(seen, self.dice_sum / self.count.clamp(min=1), torch.nan)
        iou = torch.where(seen, self.iou_sum / self.count.clamp(min=1), torch.nan)
        result = {"dice": dice[seen].mean() if seen.any() else torch.tensor(torch.nan),
                  "iou": iou[seen].mean() if seen.any() else torch.tensor(torch.nan)}
        for i, name in enumerate(self.names):
            result[f"dice_{name}"], result[f"iou_{name}"] = dice[i], iou[i]
        return {k: v.float() for k, v in result.items()}


def segmentation_metrics(classes: list[str]) -> MetricCollection:
    return MetricCollection({"dice": DiceIoU(classes)}, compute_groups=False)
