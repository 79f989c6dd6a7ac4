"""Everyday scenes: a generated detection set of household objects in rooms, needing no files and no network.

Each image is a view of a room: a wall (plain, striped or tiled, with picture frames and shelves as clutter) above
a table or floor of wooden planks. Six kinds of objects stand on the table at different distances, so their size
spreads over about four times (far ones higher and smaller): cups with handles, bottles with caps and labels,
books standing upright, balls with a seam, potted plants, and clocks on the wall. They are painted far to near, so
nearer objects hide parts of farther ones; each box is the tight box of what is left visible (as COCO boxes are),
and an object less than 35% visible gets no box. Unlabelled clutter (boxes, stripes, blobs in similar colours)
and sensor noise make the background more than a flat colour. A scene depends only on (seed, split, index), so the
set is identical on every machine; scenes render on first access, a few milliseconds each.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo.errors import ConfigError
from zoo.problems.detection.datasets import DetectionSplit, split_name, target
from zoo.problems.detection.generated import RenderedScenes

CLASSES: tuple[str, ...] = ("cup", "bottle", "book", "ball", "plant", "clock")
MIN_VISIBLE = 0.35
# Object height relative to the image height at the nearest row, and width / height.
_SHAPE = {"cup": (0.22, 0.95), "bottle": (0.42, 0.34), "book": (0.36, 0.62), "ball": (0.22, 1.0),
          "plant": (0.42, 0.7), "clock": (0.22, 1.0)}


@dataclass
class Scene:
    image: np.ndarray  # uint8 (H, W, 3)
    boxes: np.ndarray  # float32 (N, 4) xyxy
    labels: np.ndarray  # int64 (N,) in 1..len(CLASSES)


class _Canvas:
    """Paints colour and instance id together on clipped slices."""

    def __init__(self, height: int, width: int):
        self.h, self.w = height, width
        self.image = np.zeros((height, width, 3), np.float32)
        self.instance = np.full((height, width), -1, np.int32)

    def _clip(self, x0, y0, x1, y1):
        return (max(int(round(x0)), 0), max(int(round(y0)), 0), min(int(round(x1)), self.w),
                min(int(round(y1)), self.h))

    def rect(self, x0, y0, x1, y1, colour, inst: int = -1) -> None:
        a, b, c, d = self._clip(x0, y0, x1, y1)
        if c > a and d > b:
            self.image[b:d, a:c] = colour
            self.instance[b:d, a:c] = inst

    def ellipse(self, cx, cy, rx, ry, colour, inst: int = -1, ring: float = 0.0) -> None:
        a, b, c, d = self._clip(cx - rx, cy - ry, cx + rx + 1, cy + ry + 1)
        if c <= a or d <= b:
            return
        ys, xs = np.ogrid[b:d, a:c]
        r = ((xs + 0.5 - cx) / max(rx, 0.5)) ** 2 + ((ys + 0.5 - cy) / max(ry, 0.5)) ** 2
        inside = r <= 1.0
        if ring:
            inside &= r >= (1.0 - ring) ** 2
        self.image[b:d, a:c][inside] = colour
        self.instance[b:d, a:c][inside] = inst


def _colour(rng, low=0.05, high=0.95) -> np.ndarray:
    return rng.uniform(low, high, 3).astype(np.float32)


def _room(canvas: _Canvas, rng, horizon: int) -> None:
    h, w = canvas.h, canvas.w
    wall = _colour(rng, 0.45, 0.9)
    canvas.image[:horizon] = wall
    style = rng.integers(0, 3)
    if style == 1:  # stripes
        step = rng.uniform(0.04, 0.1) * w
        for x in np.arange(0, w, 2 * step):
            canvas.rect(x, 0, x + step, horizon, wall * 0.9)
    elif style == 2:  # tiles
        step = rng.uniform(0.05, 0.1) * w
        for y in np.arange(0, horizon, step):
            canvas.rect(0, y, w, y + 1, wall * 0.8)
        for x in np.arange(0, w, step):
            canvas.rect(x, 0, x + 1, horizon, wall * 0.8)
    for _ in range(int(rng.integers(0, 3))):  # picture frames and shelves: clutter
        x0, y0 = rng.uniform(0, 0.85) * w, rng.uniform(0.02, 0.6) * horizon
        fw, fh = rng.uniform(0.1, 0.3) * w, rng.uniform(0.1, 0.35) * horizon
        canvas.rect(x0, y0, x0 + fw, y0 + fh, _colour(rng, 0.1, 0.5))
        canvas.rect(x0 + 2, y0 + 2, x0 + fw - 2, y0 + fh - 2, _colour(rng))
    wood = np.array([0.55, 0.38, 0.22], np.float32) * rng.uniform(0.6, 1.4)
    canvas.image[horizon:] = wood.clip(0, 1)
    step = rng.uniform(0.05, 0.12) * h
    for y in np.arange(horizon, h, step):  # planks
        canvas.rect(0, y, w, y + 1, (wood * 0.7).clip(0, 1))
    canvas.rect(0, horizon - 1, w, horizon + 1, (wood * 0.5).clip(0, 1))


def _clutter(canvas: _Canvas, rng, horizon: int) -> None:
    """Unlabelled things: boxes, stripes and blobs that are none of the classes."""
    h, w = canvas.h, canvas.w
    for _ in range(int(rng.integers(2, 7))):
        kind = rng.integers(0, 3)
        x, y = rng.uniform(0, w), rng.uniform(horizon * 0.5, h)
        s = rng.uniform(0.04, 0.15) * h
        if kind == 0:
            canvas.rect(x, y, x + s * rng.uniform(1, 2.5), y + s * rng.uniform(0.5, 1.2), _colour(rng))
        elif kind == 1:
            canvas.rect(x, y, x + rng.uniform(0.15, 0.4) * w, y + max(1, s * 0.12), _colour(rng))
        else:
            canvas.ellipse(x, y, s, s * rng.uniform(0.3, 0.6), _colour(rng))


def _draw(canvas: _Canvas, rng, kind: str, x0, y0, x1, y1, inst: int) -> None:
    bw, bh = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    if kind == "cup":
        body = _colour(rng)
        canvas.ellipse(x1 - 0.12 * bw, y0 + 0.45 * bh, 0.2 * bw, 0.25 * bh, body * 0.8, inst, ring=0.45)
        canvas.rect(x0, y0 + 0.1 * bh, x1 - 0.25 * bw, y1, body, inst)
        canvas.ellipse((x0 + x1 - 0.25 * bw) / 2, y0 + 0.1 * bh, (bw - 0.25 * bw) / 2, 0.1 * bh, body * 0.55, inst)
    elif kind == "bottle":
        glass = _colour(rng, 0.1, 0.7) * np.array([0.6, 1.0, 0.7], np.float32)
        canvas.rect(x0, y0 + 0.38 * bh, x1, y1, glass, inst)
        canvas.ellipse(cx, y0 + 0.38 * bh, bw / 2, 0.1 * bh, glass, inst)
        canvas.rect(cx - 0.18 * bw, y0 + 0.08 * bh, cx + 0.18 * bw, y0 + 0.38 * bh, glass, inst)
        canvas.rect(cx - 0.22 * bw, y0, cx + 0.22 * bw, y0 + 0.09 * bh, _colour(rng), inst)
        canvas.rect(x0, y0 + 0.58 * bh, x1, y0 + 0.8 * bh, _colour(rng, 0.6, 1.0), inst)  # the label
    elif kind == "book":
        cover = _colour(rng)
        canvas.rect(x0, y0, x1, y1, cover, inst)
        canvas.rect(x0 + 0.08 * bw, y0 + 0.1 * bh, x1 - 0.08 * bw, y0 + 0.16 * bh, cover * 0.5 + 0.45, inst)
        canvas.rect(x0 + 0.08 * bw, y1 - 0.16 * bh, x1 - 0.08 * bw, y1 - 0.1 * bh, cover * 0.5 + 0.45, inst)
        canvas.rect(x1 - 0.1 * bw, y0, x1, y1, np.array([0.92, 0.9, 0.82], np.float32), inst)  # the pages
    elif kind == "ball":
        base = _colour(rng, 0.3, 1.0)
        cy = (y0 + y1) / 2
        canvas.ellipse(cx, cy, bw / 2, bh / 2, base * 0.4, inst)
        canvas.ellipse(cx, cy, 0.44 * bw, 0.44 * bh, base, inst)
        canvas.ellipse(cx, cy, 0.44 * bw, 0.06 * bh, base * 0.4, inst)  # the seam
        canvas.ellipse(cx - 0.18 * bw, cy - 0.2 * bh, 0.1 * bw, 0.08 * bh, np.minimum(base + 0.35, 1), inst)
    elif kind == "plant":
        pot = np.array([0.72, 0.38, 0.22], np.float32) * rng.uniform(0.8, 1.2)
        canvas.rect(x0 + 0.2 * bw, y0 + 0.6 * bh, x1 - 0.2 * bw, y1, pot.clip(0, 1), inst)
        canvas.rect(x0 + 0.15 * bw, y0 + 0.6 * bh, x1 - 0.15 * bw, y0 + 0.68 * bh, (pot * 0.8).clip(0, 1), inst)
        green = np.array([0.15, 0.55, 0.2], np.float32) * rng.uniform(0.6, 1.3)
        for _ in range(5):
            lx, ly = cx + rng.uniform(-0.3, 0.3) * bw, y0 + rng.uniform(0.15, 0.45) * bh
            canvas.ellipse(lx, ly, rng.uniform(0.12, 0.22) * bw, rng.uniform(0.1, 0.18) * bh,
                           (green * rng.uniform(0.8, 1.2)).clip(0, 1), inst)
    else:  # clock
        cy = (y0 + y1) / 2
        canvas.ellipse(cx, cy, bw / 2, bh / 2, _colour(rng, 0.0, 0.4), inst)
        canvas.ellipse(cx, cy, 0.4 * bw, 0.4 * bh, np.array([0.95, 0.95, 0.92], np.float32), inst)
        canvas.rect(cx - 0.03 * bw, cy - 0.32 * bh, cx + 0.03 * bw, cy, (0.05, 0.05, 0.05), inst)
        canvas.rect(cx, cy - 0.03 * bh, cx + 0.25 * bw, cy + 0.03 * bh, (0.05, 0.05, 0.05), inst)


def render(seed: int, height: int = 128, width: int = 128, max_objects: int = 8) -> Scene:
    rng = np.random.default_rng(seed)
    canvas = _Canvas(height, width)
    horizon = int(height * rng.uniform(0.3, 0.5))
    _room(canvas, rng, horizon)
    _clutter(canvas, rng, horizon)
    count = int(rng.integers(2, max_objects + 1))
    objects = []
    for _ in range(count):
        kind = str(rng.choice(CLASSES))
        size, aspect = _SHAPE[kind]
        if kind == "clock":  # on the wall
            depth = rng.uniform(0.4, 1.0)
            bh = size * height * depth
            bottom = rng.uniform(bh + 1, horizon - 1) if horizon > bh + 2 else horizon
        else:  # on the table: nearer is lower and larger
            depth = rng.uniform(0.25, 1.0)
            bh = size * height * (0.35 + 0.65 * depth)
            bottom = horizon + depth * (height - horizon) * rng.uniform(0.85, 1.0)
        bw = bh * aspect * rng.uniform(0.85, 1.15)
        cx = rng.uniform(-0.05, 1.05) * width
        objects.append((bottom, kind, cx - bw / 2, bottom - bh, cx + bw / 2, bottom))
    objects.sort(key=lambda o: (o[1] != "clock", o[0]))  # wall clocks first, then far to near
    for inst, (_, kind, x0, y0, x1, y1) in enumerate(objects):
        _draw(canvas, rng, kind, x0, y0, x1, y1, inst)
    boxes, labels = [], []
    for inst, (_, kind, x0, y0, x1, y1) in enumerate(objects):
        ys, xs = np.nonzero(canvas.instance == inst)
        # the visible share of the whole object: hidden by nearer ones or cut by the border
        if len(xs) == 0 or len(xs) / _full_area(kind, round(x1 - x0), round(y1 - y0)) < MIN_VISIBLE:
            continue
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        if box[2] - box[0] >= 3 and box[3] - box[1] >= 3:
            boxes.append(box)
            labels.append(CLASSES.index(kind) + 1)
    image = canvas.image * rng.uniform(0.75, 1.15) + rng.normal(0, rng.uniform(0.01, 0.04), canvas.image.shape)
    return Scene((image.clip(0, 1) * 255 + 0.5).astype(np.uint8), np.array(boxes, np.float32).reshape(-1, 4),
                 np.array(labels, np.int64))


@lru_cache(maxsize=8192)
def _full_area(kind: str, bw: int, bh: int) -> int:
    """Pixels an object covers drawn alone on an unbounded canvas (what it would show unhidden and uncut)."""
    pad = 2
    probe = _Canvas(int(bh) + 2 * pad + 2, int(bw) + 2 * pad + 2)
    _draw(probe, np.random.default_rng(0), kind, pad, pad, pad + bw, pad + bh, 0)
    return int((probe.instance == 0).sum())


@lru_cache(maxsize=8)
def generate(split: str, count: int, seed: int, height: int, width: int, max_objects: int) -> RenderedScenes:
    return RenderedScenes(render, split, count, seed, 1, (height, width, max_objects))


class SceneDetection(Dataset):
    def __init__(self, items: RenderedScenes):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        scene = self.items[index]
        return torch.from_numpy(scene.image).permute(2, 0, 1).contiguous(), target(scene.boxes, scene.labels)


def everyday_scenes(
    split: str = "train", num_train: int = 1200, num_val: int = 200, height: int = 128, width: int = 128,
    max_objects: int = 8, seed: int = 0,
) -> DetectionSplit:
    """Embedded: generated rooms with cups, bottles, books, balls, plants and clocks; see the module docstring."""
    split = split_name(split, "everyday_scenes")
    if min(height, width) < 48:
        raise ConfigError(f"everyday_scenes needs images of at least 48x48 pixels, got {height}x{width}")
    if max_objects < 2:
        raise ConfigError(f"everyday_scenes needs max_objects >= 2, got {max_objects}")
    items = generate(split, num_train if split == "train" else num_val, seed, height, width, max_objects)
    return DetectionSplit(SceneDetection(items), list(CLASSES), (height, width))
