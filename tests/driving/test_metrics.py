"""COCO box AP and segmentation IoU on hand-made predictions whose values can be worked out by hand."""

import pytest
import torch

from tests.driving import files
from zoo.driving import datasets
from zoo.driving.metrics import SegmentationScores
from zoo.problems.detection.metrics import DetectionAP

CLASSES = ["car", "pedestrian", "cyclist", "truck"]


def _t(boxes, labels, scores=None):
    out = {"boxes": torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.as_tensor(labels)}
    if scores is not None:
        out["scores"] = torch.as_tensor(scores, dtype=torch.float32)
    return out


def test_perfect_detections_score_one():
    metric = DetectionAP(CLASSES)
    target = _t([[0, 0, 50, 50], [60, 60, 90, 120]], [1, 2])
    metric.update([_t(target["boxes"], [1, 2], [0.9, 0.8])], [target])
    result = metric.compute()
    assert float(result["map"]) == pytest.approx(1) and float(result["map_50"]) == pytest.approx(1)
    assert {"ap_car", "ap50_car", "ap_pedestrian", "ap50_pedestrian"} <= set(result)
    assert "ap_cyclist" not in result and "ap_truck" not in result  # no ground truth: not scored


def test_hand_computed_average_precision():
    """Cars: of two, one found (score 0.9) after a false alarm ranked below it (0.8): precision 1 up to recall 0.5,
    so COCO's 101-point AP is 51/101 at every IoU. Pedestrian: found exactly. Cyclist: found with IoU 0.6, which counts
    at the thresholds 0.50 and 0.55 only: AP@[.5:.95] = 2/10, AP@.5 = 1."""
    metric = DetectionAP(CLASSES)
    targets = [_t([[0, 0, 40, 40], [100, 100, 140, 140]], [1, 1]), _t([[10, 10, 30, 70], [50, 0, 100, 50]], [2, 3])]
    preds = [
        _t([[0, 0, 40, 40], [200, 10, 240, 50]], [1, 1], [0.9, 0.8]),
        _t([[10, 10, 30, 70], [50, 0, 100, 30]], [2, 3], [0.95, 0.7]),  # the cyclist box: IoU 30/50 = 0.6
    ]
    metric.update(preds, targets)
    result = {k: float(v) for k, v in metric.compute().items()}
    assert result["ap_car"] == pytest.approx(51 / 101, abs=1e-4)
    assert result["ap50_car"] == pytest.approx(51 / 101, abs=1e-4)
    assert result["ap_pedestrian"] == pytest.approx(1) and result["ap50_pedestrian"] == pytest.approx(1)
    assert result["ap_cyclist"] == pytest.approx(0.2) and result["ap50_cyclist"] == pytest.approx(1)
    assert result["map"] == pytest.approx((51 / 101 + 1 + 0.2) / 3, abs=1e-4)
    assert result["map_50"] == pytest.approx((51 / 101 + 1 + 1) / 3, abs=1e-4)
    metric.reset()
    metric.update([_t([], [], [])], [_t([[0, 0, 10, 10]], [4])])
    assert float(metric.compute()["ap50_truck"]) == 0.0  # missed entirely


def _drop_crowds(target):
    keep = target["iscrowd"] == 0
    return {k: v[keep] for k, v in target.items()}


def test_a_detection_in_a_kitti_dontcare_region_is_neither_true_nor_false(tmp_path):
    """A KITTI frame read from its label file: the car and the pedestrian found exactly, plus the highest-scoring
    detection a car inside the DontCare region. Ignored, AP is 1; with the region dropped it would be a false alarm
    ranked first, and the car's AP falls to 0.5 (precision 1/2 at every recall)."""
    split = datasets.kitti("val", root=str(files.write_kitti(tmp_path / "kitti")))
    _, target = split.dataset[0]
    objects = _drop_crowds(target)
    inside = [82.0, 6.0, 94.0, 14.0]  # within the DontCare box 80, 5, 95, 15
    found = _t(torch.cat([objects["boxes"], torch.tensor([inside])]), [1, 4, 1], [0.8, 0.7, 0.95])
    metric = DetectionAP(split.classes)
    metric.update([found], [target])
    result = {k: float(v) for k, v in metric.compute().items()}
    assert result["map"] == pytest.approx(1) and result["ap_Car"] == pytest.approx(1)
    assert {k for k in result if k.startswith("ap_")} == {"ap_Car", "ap_Pedestrian"}  # ignore regions score nothing
    metric.reset()
    metric.update([found], [objects])
    dropped = {k: float(v) for k, v in metric.compute().items()}
    assert dropped["ap_Car"] == pytest.approx(0.5) and dropped["map"] < 1
    metric.reset()
    metric.update([_t(objects["boxes"], [1, 4], [0.8, 0.7])], [target])
    assert float(metric.compute()["map"]) == pytest.approx(1)  # nothing found there costs no recall


def test_a_coco_crowd_ignores_detections_of_its_own_class_only(tmp_path):
    root = files.write_coco(tmp_path / "coco")
    split = datasets.coco("val", root=str(root))
    _, target = split.dataset[0]  # a car, a person, and a crowd of people at 40, 5, 60, 35
    objects = _drop_crowds(target)
    car, person = split.classes.index("car") + 1, split.classes.index("person") + 1
    labels = objects["labels"].tolist()
    in_crowd = [44.0, 8.0, 56.0, 30.0]
    metric = DetectionAP(split.classes)
    for label, expected in ((person, 1.0), (car, 0.5)):  # a car there is a false alarm: the crowd is of people
        metric.reset()
        found = _t(torch.cat([objects["boxes"], torch.tensor([in_crowd])]), labels + [label], [0.8, 0.7, 0.95])
        metric.update([found], [target])
        result = {k: float(v) for k, v in metric.compute().items()}
        assert result["ap_person"] == pytest.approx(1) and result["ap_car"] == pytest.approx(expected, abs=1e-4)


def test_segmentation_iou_and_pixel_accuracy():
    metric = SegmentationScores(["road", "car", "sky"], ignore_index=255)
    target = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 255]]])
    predicted = torch.tensor([[[0, 1, 1, 1], [0, 0, 0, 2]]])
    metric.update(predicted, target)
    result = {k: float(v) for k, v in metric.compute().items()}
    # road: 3 hits, union 5; car: 2 hits, union 4; sky: never labelled, never predicted where labelled -> no IoU
    assert result["iou_road"] == pytest.approx(3 / 5) and result["iou_car"] == pytest.approx(2 / 4)
    assert "iou_sky" not in result and result["miou"] == pytest.approx((3 / 5 + 2 / 4) / 2)
    assert result["pixel_accuracy"] == pytest.approx(5 / 7)
    logits = torch.nn.functional.one_hot(predicted, 3).permute(0, 3, 1, 2).float()
    other = SegmentationScores(["road", "car", "sky"])
    other.update(logits, target)
    assert float(other.compute()["miou"]) == pytest.approx(result["miou"])
