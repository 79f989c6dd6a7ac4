"""Validation metrics as torchmetrics Metrics (synchronised across ranks by torchmetrics): COCO-style box AP, and
mean IoU with pixel accuracy from a confusion matrix. Both return flat dicts of scalars, the trainer's format."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import torch
from torchmetrics import Metric
from torchmetrics.detection import MeanAveragePrecision

from zoo.errors import ZooError

_BACKENDS = {"pycocotools": "pycocotools", "faster_coco_eval": "faster_coco_eval"}


def coco_backend() -> str:
    """The COCO evaluation library torchmetrics will use; missing both is an error that names the fix."""
    for backend, module in _BACKENDS.items():
        if importlib.util.find_spec(module) is not None:
            return backend
    raise ZooError("detection metrics need pycocotools (or faster-coco-eval): pip install pycocotools")


class DetectionAP(MeanAveragePrecision):
    """COCO box AP: ``map`` (AP@[.5:.95]), ``map_50``, ``map_75``, ``map_small``/``medium``/``large``, ``mar_100``,
    and per class ``ap_<name>`` (AP@[.5:.95]) and ``ap50_<name>``.

    Labels are 1..K with 0 the background, as the detectors use them. A class or size range with no ground truth
    in the split gets no entry (COCO's -1), so that averages are not pulled down by classes that cannot be scored.
    """

    def __init__(self, classes: Sequence[str]):
        super().__init__(box_format="xyxy", iou_type="bbox", class_metrics=True, extended_summary=True,
                         backend=coco_backend())
        self.class_names = list(classes)

    def compute(self) -> dict[str, torch.Tensor]:
        result = super().compute()
        summary = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_100")
        out = {key: result[key] for key in summary if float(result[key]) >= 0}
        ids = result["classes"].reshape(-1).tolist()
        per_class = result["map_per_class"].reshape(-1).tolist()
        precision = result["precision"]  # (IoU thresholds, recall points, classes, areas, max detections)
        for k, (label, ap) in enumerate(zip(ids, per_class)):
            if ap < 0 or not 1 <= label <= len(self.class_names):
                continue
            name = self.class_names[label - 1]
            at_50 = precision[0, :, k, 0, -1]
            out[f"ap_{name}"] = torch.tensor(ap)
            out[f"ap50_{name}"] = at_50[at_50 > -1].mean() if (at_50 > -1).any() else torch.tensor(0.0)
        return out


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
