"""Dice + cross-entropy, the usual segmentation loss: Dice copes with small structures, cross-entropy gives
smooth gradients early on. Defined as MONAI's ``DiceCELoss(to_onehot_y=True, softmax=True)`` (smoothing 1e-5 in
numerator and denominator); tests compare the two when MONAI is installed.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def dice_loss(
    logits: Tensor, target: Tensor, include_background: bool = False, batch: bool = True, smooth: float = 1e-5
) -> Tensor:
    """1 - soft Dice of the softmax of ``logits`` (B, K, *S) against class indices ``target`` (B, *S).

    ``batch=True`` sums over the whole batch before dividing (as nnU-Net does), so patches without a class do not
    each count as a perfect or a failed score; the mean is over classes (and over samples when ``batch=False``).
    """
    probs = logits.float().softmax(dim=1)
    onehot = F.one_hot(target.long(), probs.shape[1]).movedim(-1, 1).to(probs.dtype)
    if not include_background:
        probs, onehot = probs[:, 1:], onehot[:, 1:]
    dims = tuple(range(2, probs.ndim))
    if batch:
        dims = (0, *dims)
    intersection = (probs * onehot).sum(dims)
    denominator = probs.sum(dims) + onehot.sum(dims)
    return 1 - ((2 * intersection + smooth) / (denominator + smooth)).mean()


def dice_ce_loss(
    logits: Tensor, target: Tensor, dice_weight: float = 1.0, ce_weight: float = 1.0, include_background: bool = False,
    batch: bool = True,
) -> Tensor:
    loss = dice_weight * dice_loss(logits, target, include_background, batch) if dice_weight else 0.0
    if ce_weight:
        loss = loss + ce_weight * F.cross_entropy(logits.float(), target.long())
    return loss
