"""COCO-style box AP as a torchmetrics Metric (synchronised across ranks by torchmetrics), returning a flat dict of
scalars, the trainer's format."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import torch
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
    """COCO box AP and AR: ``map`` (AP@[.5:.95]), ``map_50``, ``map_75``, ``map_small``/``medium``/``large`` (areas
    under 32², up to 96², above), ``mar_1``/``mar_10``/``mar_100`` and ``mar_small``/``medium``/``large``, and per
    class ``ap_<name>`` (AP@[.5:.95]), ``ap50_<name>`` and ``ar_<name>`` (AR@100).

    Labels are 1..K with 0 the background, as the detectors use them. A class or size range with no ground truth
    in the split gets no entry (COCO's -1), so that averages are not pulled down by classes that cannot be scored.
    ``prefix`` is put before every key (``sliced_`` for the figures of sliced inference). As in COCO's own
    evaluation (``maxDets``), each image is scored on its 100 highest-scoring detections, however many the detector
    keeps (``detections_per_img``, e.g. 150 for crowded aerial scenes, where the rest still show in predictions).
    """

    SUMMARY = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1", "mar_10", "mar_100",
               "mar_small", "mar_medium", "mar_large")

    def __init__(self, classes: Sequence[str], prefix: str = ""):
        super().__init__(box_format="xyxy", iou_type="bbox", class_metrics=True, extended_summary=True,
                         backend=coco_backend())
        self.class_names, self.prefix = list(classes), prefix
        self.warn_on_many_detections = False  # COCO's maxDets of 100, stated above: not a per-batch warning

    def compute(self) -> dict[str, torch.Tensor]:
        result = super().compute()
        out = {key: result[key] for key in self.SUMMARY if float(result[key]) >= 0}
        ids = result["classes"].reshape(-1).tolist()
        per_class = result["map_per_class"].reshape(-1).tolist()
        recall = result["mar_100_per_class"].reshape(-1).tolist()
        precision = result["precision"]  # (IoU thresholds, recall points, classes, areas, max detections)
        for k, (label, ap, ar) in enumerate(zip(ids, per_class, recall)):
            if ap < 0 or not 1 <= label <= len(self.class_names):
                continue
            name = self.class_names[label - 1]
            at_50 = precision[0, :, k, 0, -1]
            out[f"ap_{name}"] = torch.tensor(ap)
            out[f"ap50_{name}"] = at_50[at_50 > -1].mean() if (at_50 > -1).any() else torch.tensor(0.0)
            out[f"ar_{name}"] = torch.tensor(ar)
        return {f"{self.prefix}{key}": value for key, value in out.items()}
