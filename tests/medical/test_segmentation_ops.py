"""Dice + cross-entropy, sliding-window inference (against MONAI's when installed), masks and overlays."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from zoo.medical import overlay
from zoo.medical.inference import importance_map, sliding_window, window_starts
from zoo.medical.losses import dice_ce_loss, dice_loss


def test_dice_loss_by_hand():
    target = torch.tensor([[[0, 1], [1, 1]]])
    perfect = F.one_hot(target, 2).movedim(-1, 1).float() * 40 - 20
    assert dice_loss(perfect, target).item() == pytest.approx(0, abs=1e-6)
    even = torch.zeros(1, 2, 2, 2)  # softmax 0.5 everywhere: foreground dice = 2 * 1.5 / (2 + 3)
    assert dice_loss(even, target).item() == pytest.approx(1 - 3 / 5, abs=1e-5)
    assert dice_ce_loss(even, target).item() == pytest.approx(1 - 3 / 5 + float(np.log(2)), abs=1e-5)


@pytest.mark.parametrize("batch", [True, False])
def test_dice_ce_equals_monai(batch):
    losses = pytest.importorskip("monai.losses")
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 8, 8, generator=generator)
    target = torch.randint(0, 4, (3, 8, 8), generator=generator)
    theirs = losses.DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, batch=batch)
    assert dice_ce_loss(logits, target, batch=batch).item() == pytest.approx(
        theirs(logits, target[:, None]).item(), abs=1e-5)


def test_window_starts_cover_the_axis_and_end_flush():
    assert window_starts(96, 64, 0.5) == [0, 32]
    assert window_starts(100, 64, 0.25) == [0, 36]
    assert window_starts(64, 64, 0.5) == [0] and window_starts(40, 64, 0.5) == [0]
    assert window_starts(200, 64, 0.5) == [0, 32, 64, 96, 128, 136]


def test_sliding_window_of_a_pixelwise_model_is_the_model():
    conv = torch.nn.Conv2d(1, 3, 1)
    image = torch.randn(2, 1, 50, 70)
    for mode in ("gaussian", "constant"):
        out = sliding_window(conv, image, [32, 32], overlap=0.5, mode=mode, batch_size=3)
        assert out.shape == (2, 3, 50, 70) and torch.allclose(out, conv(image), atol=1e-5)
    small = torch.randn(1, 1, 20, 24)  # smaller than the window: padded, then cropped back
    assert torch.allclose(sliding_window(conv, small, [32, 32]), conv(small), atol=1e-5)


@pytest.mark.parametrize("mode", ["constant", "gaussian"])
def test_sliding_window_equals_monai(mode):
    inferers = pytest.importorskip("monai.inferers")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3, padding=1))
    image = torch.randn(2, 1, 45, 70)
    with torch.no_grad():
        ours = sliding_window(net, image, [32, 32], overlap=0.25, mode=mode, batch_size=4)
        theirs = inferers.sliding_window_inference(image, (32, 32), 4, net, overlap=0.25, mode=mode)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_sliding_window_in_3d():
    conv = torch.nn.Conv3d(1, 2, 1)
    volume = torch.randn(1, 1, 20, 40, 30)
    out = sliding_window(conv, volume, [16, 32, 32], overlap=0.5)
    assert out.shape == (1, 2, 20, 40, 30) and torch.allclose(out, conv(volume), atol=1e-5)
    weights = importance_map([8, 8, 8], "gaussian")
    assert weights.shape == (8, 8, 8) and weights[4, 4, 4] > weights[0, 0, 0] > 0


def test_mask_and_overlay_files(tmp_path):
    image = np.tile(np.linspace(0, 1, 20, dtype=np.float32), (16, 1))[None]
    mask = np.zeros((16, 20), np.int64)
    mask[2:8, 3:10] = 1
    mask[10:14, 12:18] = 2
    overlay.write_mask(tmp_path / "m.png", mask)
    overlay.write_overlay(tmp_path / "o.png", image, mask)
    assert np.array_equal(np.array(Image.open(tmp_path / "m.png")), mask)
    picture = np.array(Image.open(tmp_path / "o.png"))
    assert picture.shape == (16, 20, 3) and picture.dtype == np.uint8
    assert tuple(picture[2, 3]) == tuple(overlay.PALETTE[0].astype(np.uint8))  # outline of class 1
    inside, outside = picture[4, 5].astype(int), picture[0, 5].astype(int)
    assert inside[0] > inside[1] and outside[0] == outside[1] == outside[2]  # tinted red inside, grey outside
