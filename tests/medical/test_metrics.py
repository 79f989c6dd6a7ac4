"""Dice and IoU on masks computed by hand, MONAI's metrics as a cross-check, and the diagnosis metric names."""

from __future__ import annotations

import pytest
import torch

from zoo.medical.metrics import DiceIoU, classification_metrics, dice_iou, metric_names


def _masks():
    """Two 4x4 images, classes 0..2. Image 0: class 1 predicted on 3 pixels of which 2 are right, reference 4.
    Class 2 absent from image 0's reference but predicted once. Image 1: class 2 perfect (2 pixels), no class 1."""
    target = torch.zeros(2, 4, 4, dtype=torch.long)
    prediction = torch.zeros(2, 4, 4, dtype=torch.long)
    target[0, 0, :4] = 1  # 4 pixels
    prediction[0, 0, :2] = 1  # 2 right
    prediction[0, 1, 0] = 1  # 1 wrong
    prediction[0, 3, 3] = 2  # class 2 where the reference has none
    target[1, 2, 1:3] = 2
    prediction[1, 2, 1:3] = 2
    return prediction, target


def test_dice_and_iou_by_hand():
    prediction, target = _masks()
    dice, iou, present = dice_iou(prediction, target, 3)
    assert present.tolist() == [[True, False], [False, True]]
    assert dice[0, 0].item() == pytest.approx(2 * 2 / (3 + 4))  # 4/7
    assert iou[0, 0].item() == pytest.approx(2 / (3 + 4 - 2))  # 2/5
    assert dice[1, 1].item() == 1.0 and iou[1, 1].item() == 1.0


def test_metric_averages_over_images_holding_each_class():
    prediction, target = _masks()
    metric = DiceIoU(["background", "liver", "tumour"])
    metric.update(prediction[:1], target[:1])
    metric.update(prediction[1:], target[1:])
    result = metric.compute()
    assert result["dice_liver"].item() == pytest.approx(4 / 7) and result["dice_tumour"].item() == 1.0
    assert result["iou_liver"].item() == pytest.approx(0.4)
    assert result["dice"].item() == pytest.approx((4 / 7 + 1) / 2) and result["iou"].item() == pytest.approx(0.7)


def test_a_class_never_present_is_nan_and_left_out_of_the_mean():
    metric = DiceIoU(["background", "a", "b"])
    target = torch.zeros(1, 3, 3, dtype=torch.long)
    target[0, 0, 0] = 1
    metric.update(target.clone(), target)
    result = metric.compute()
    assert result["dice_a"].item() == 1.0 and torch.isnan(result["dice_b"]) and result["dice"].item() == 1.0


def test_agrees_with_monai():
    monai_metrics = pytest.importorskip("monai.metrics")
    from monai.networks.utils import one_hot

    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (4, 16, 16), generator=generator)
    target[1][target[1] == 2] = 0  # an image without class 2
    prediction = torch.where(torch.rand(4, 16, 16, generator=generator) < 0.7, target,
                             torch.randint(0, 3, (4, 16, 16), generator=generator))
    ours = DiceIoU(["bg", "a", "b"])
    ours.update(prediction, target)
    result = ours.compute()
    p, t = one_hot(prediction[:, None], 3), one_hot(target[:, None], 3)
    dice = monai_metrics.DiceMetric(include_background=False, reduction="mean_batch")
    iou = monai_metrics.MeanIoU(include_background=False, reduction="mean_batch")
    dice(p, t)
    iou(p, t)
    assert torch.allclose(torch.stack([result["dice_a"], result["dice_b"]]), dice.aggregate().float(), atol=1e-6)
    assert torch.allclose(torch.stack([result["iou_a"], result["iou_b"]]), iou.aggregate().float(), atol=1e-6)


def test_classification_metrics_names_and_values():
    names = metric_names(["normal", "Pleural thickening", "immature granulocytes(myelocytes)", "normal"])
    assert names == ["normal", "pleural_thickening", "immature_granulocytes_myelocytes", "normal_3"]
    metrics = classification_metrics(["normal", "pneumonia"], multi_label=False)
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    metrics.update(probs, torch.tensor([0, 1, 1, 1]))
    result = {k: float(v) for k, v in metrics.compute().items()}
    assert result["auroc"] == pytest.approx(1.0) and result["accuracy"] == pytest.approx(0.75)
    assert result["accuracy_normal"] == 1.0 and result["accuracy_pneumonia"] == pytest.approx(2 / 3)
    assert result["balanced_accuracy"] == pytest.approx((1 + 2 / 3) / 2) and "auroc_pneumonia" in result
    multi = classification_metrics(["mass", "nodule"], multi_label=True)
    multi.update(torch.tensor([[0.55, 0.2], [0.1, 0.6], [0.8, 0.7]]), torch.tensor([[1, 0], [0, 1], [0, 1]]))
    result = {k: float(v) for k, v in multi.compute().items()}
    assert result["auroc_mass"] == pytest.approx(0.5) and result["auroc_nodule"] == 1.0
    assert result["accuracy_mass"] == pytest.approx(2 / 3) and result["accuracy"] == pytest.approx(5 / 6)
