"""Sliding-window inference: segment images larger than the training patch, window by window.

Window positions and the Gaussian weighting follow MONAI's ``sliding_window_inference`` (windows every
``roi * (1 - overlap)`` pixels, the last one flush with the far edge; weights exp(-x^2 / 2 sigma^2) with
sigma = 0.125 * roi, floored at 1e-3), so both give the same result; tests check it when MONAI is installed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import ConfigError

BLEND_MODES = ("gaussian", "constant")


def window_starts(size: int, roi: int, overlap: float) -> list[int]:
    """Start offsets of windows of ``roi`` along an axis of ``size`` (``size >= roi``)."""
    if roi >= size:
        return [0]
    interval = max(int(roi * (1 - overlap)), 1)
    starts = []
    for index in range(math.ceil(size / interval)):
        start = index * interval
        starts.append(min(start, size - roi))
        if start + roi >= size:
            break
    return starts


def importance_map(roi: Sequence[int], mode: str, sigma_scale: float = 0.125) -> Tensor:
    """Weights of a window's pixels: all ones, or a Gaussian that trusts the centre more than the border."""
    if mode not in BLEND_MODES:
        raise ConfigError(f"unknown blend mode {mode!r}; valid: {', '.join(BLEND_MODES)}")
    if mode == "constant":
        return torch.ones(tuple(roi))
    weights = torch.ones(())
    for i, side in enumerate(roi):
        x = torch.arange(side, dtype=torch.float32) - (side - 1) / 2
        axis = torch.exp(x**2 / (-2 * (side * sigma_scale) ** 2))
        weights = weights.unsqueeze(-1) * axis.view((1,) * i + (side,))
    return weights.clamp(min=max(float(weights.min()), 1e-3))


def sliding_window(
    predict: Callable[[Tensor], Tensor],
    image: Tensor,
    roi: Sequence[int],
    overlap: float = 0.25,
    mode: str = "gaussian",
    batch_size: int = 4,
) -> Tensor:
    """``predict`` over windows of ``roi`` of ``image`` (B, C, *spatial), blended into (B, K, *spatial).

    An image smaller than ``roi`` along an axis is zero-padded (centred) to it and the output cropped back.
    """
    spatial = tuple(image.shape[2:])
    roi = tuple(int(r) for r in roi)
    if len(roi) != len(spatial):
        raise ConfigError(f"the window {list(roi)} has {len(roi)} dimensions, the image {len(spatial)} "
                          f"(shape {list(image.shape)})")
    if not 0 <= overlap < 1:
        raise ConfigError(f"sliding-window overlap must be in [0, 1), got {overlap!r}")
    pads = [max(r - s, 0) for r, s in zip(roi, spatial)]
    padding = [p for d in reversed(pads) for p in (d // 2, d - d // 2)]
    if any(pads):
        image = F.pad(image, padding)
    padded = tuple(image.shape[2:])
    weights = importance_map(roi, mode).to(image.device)
    corners = list(itertools.product(*(window_starts(s, r, overlap) for s, r in zip(padded, roi))))
    output: Tensor | None = None
    total = torch.zeros(padded, device=image.device)
    for first in range(0, len(corners), max(batch_size, 1)):
        group = corners[first : first + max(batch_size, 1)]
        windows = [tuple(slice(c, c + r) for c, r in zip(corner, roi)) for corner in group]
        batch = torch.cat([image[(slice(None), slice(None), *w)] for w in windows])
        logits = predict(batch).float()
        if output is None:
            output = torch.zeros((image.shape[0], logits.shape[1], *padded), device=image.device)
        for j, w in enumerate(windows):
            part = logits[j * image.shape[0] : (j + 1) * image.shape[0]]
            output[(slice(None), slice(None), *w)] += part * weights
            total[w] += weights
    assert output is not None
    output = output / total
    if any(pads):
        crop = tuple(slice(d // 2, d // 2 + s) for d, s in zip(pads, spatial))
        output = output[(slice(None), slice(None), *crop)]
    return output
