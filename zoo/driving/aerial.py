"""Aerial scenes: a generated top-down drone view with many small road users, needing no files and no network.

Each image looks straight down from a drone at a height drawn per scene (``gsd``: pixels per metre, 4 to 8 by
default, so a car is 11-22 pixels long): fields and lawns in patchwork, roads with lane markings (horizontal or
vertical, sometimes crossing), roofs of houses with ridge lines and cast shadows, trees, a parking lot on some
scenes. Cars, vans, trucks and buses drive along the roads in their lanes or stand in the parking lot; pedestrians
walk beside the roads and across the fields, motorbikes ride between the cars. Every object casts a shadow, tree
crowns drawn last cover some of them, and boxes are clipped at the image border (objects less than 40% inside get
no box). Objects of 8-32 pixels dominate, as in VisDrone. Every scene comes from its own seeded generator, so the
set depends only on (seed, split, index) and is identical on every machine; scenes render on first access.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo.problems.detection.generated import RenderedScenes

CLASSES: tuple[str, ...] = ("car", "van", "truck", "bus", "pedestrian", "motor")  # VisDrone's names
_LABEL = {name: i + 1 for i, name in enumerate(CLASSES)}
# Top-down footprint in metres (length along the road, width).
_SIZES = {"car": (4.4, 1.8), "van": (5.2, 2.0), "truck": (8.5, 2.5), "bus": (12.0, 2.6), "pedestrian": (1.2, 1.2),
          "motor": (2.0, 0.8)}
_VEHICLE_WEIGHTS = {"car": 0.62, "van": 0.15, "truck": 0.1, "bus": 0.05, "motor": 0.08}
MIN_INSIDE = 0.4  # objects with less of their box inside the image get none


@dataclass
class AerialScene:
    image: np.ndarray  # uint8 (H, W, 3)
    boxes: np.ndarray  # float32 (N, 4) xyxy
    labels: np.ndarray  # int64 (N,) in 1..len(CLASSES)


def _fill(image: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour) -> None:
    h, w = image.shape[:2]
    a, b = max(int(round(x0)), 0), max(int(round(y0)), 0)
    c, d = min(int(round(x1)), w), min(int(round(y1)), h)
    if c > a and d > b:
        image[b:d, a:c] = colour


def _shade(image: np.ndarray, x0: float, y0: float, x1: float, y1: float, factor: float) -> None:
    h, w = image.shape[:2]
    a, b = max(int(round(x0)), 0), max(int(round(y0)), 0)
    c, d = min(int(round(x1)), w), min(int(round(y1)), h)
    if c > a and d > b:
        image[b:d, a:c] *= factor


def _disc(image: np.ndarray, cx: float, cy: float, r: float, colour, alpha: float = 1.0) -> None:
    h, w = image.shape[:2]
    a, b = max(int(cx - r), 0), max(int(cy - r), 0)
    c, d = min(int(cx + r) + 2, w), min(int(cy + r) + 2, h)
    if c <= a or d <= b:
        return
    ys, xs = np.ogrid[b:d, a:c]
    inside = (xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 <= r * r
    region = image[b:d, a:c]
    region[inside] = region[inside] * (1 - alpha) + np.asarray(colour, np.float32) * alpha


def _ground(image: np.ndarray, rng: np.random.Generator) -> None:
    """Patchwork of fields and lawns, each with rows or speckle."""
    size = image.shape[0]
    image[:] = rng.uniform(0.25, 0.45, 3) * [0.8, 1.0, 0.6]
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        x1, y1 = x0 + rng.uniform(0.2, 0.7) * size, y0 + rng.uniform(0.2, 0.7) * size
        base = rng.choice([[0.35, 0.5, 0.2], [0.55, 0.45, 0.25], [0.45, 0.55, 0.3], [0.6, 0.55, 0.35]])
        colour = np.clip(np.asarray(base) * rng.uniform(0.8, 1.2), 0, 1)
        _fill(image, x0, y0, x1, y1, colour)
        if rng.random() < 0.6:  # ploughed rows
            step = rng.uniform(3, 7)
            for y in np.arange(max(y0, 0), min(y1, size), step):
                _fill(image, x0, y, x1, y + 1, colour * 0.8)


def _roof(image: np.ndarray, rng: np.random.Generator, x0: float, y0: float, bw: float, bh: float) -> None:
    _shade(image, x0 + 3, y0 + 3, x0 + bw + 3, y0 + bh + 3, 0.55)  # the cast shadow
    colour = rng.choice([[0.65, 0.25, 0.2], [0.45, 0.45, 0.5], [0.7, 0.65, 0.6], [0.3, 0.3, 0.32]])
    colour = np.clip(np.asarray(colour) * rng.uniform(0.8, 1.15), 0, 1)
    _fill(image, x0, y0, x0 + bw, y0 + bh, colour)
    if bw > bh:  # the ridge, with one side lit
        _fill(image, x0, y0, x0 + bw, y0 + bh / 2, colour * 1.15)
        _fill(image, x0, y0 + bh / 2 - 0.5, x0 + bw, y0 + bh / 2 + 0.5, colour * 0.6)
    else:
        _fill(image, x0, y0, x0 + bw / 2, y0 + bh, colour * 1.15)
        _fill(image, x0 + bw / 2 - 0.5, y0, x0 + bw / 2 + 0.5, y0 + bh, colour * 0.6)


def _vehicle(image: np.ndarray, rng: np.random.Generator, kind: str, cx: float, cy: float, gsd: float,
             horizontal: bool, forward: bool) -> tuple[float, float, float, float]:
    length, width = (v * gsd * rng.uniform(0.92, 1.08) for v in _SIZES[kind])
    bw, bh = (length, width) if horizontal else (width, length)
    x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
    _shade(image, x0 + 0.5 * gsd, y0 + 0.5 * gsd, x1 + 0.5 * gsd, y1 + 0.5 * gsd, 0.6)  # the cast shadow
    if kind == "motor":
        body = np.array([0.1, 0.1, 0.1]) + rng.uniform(0, 0.3)
        _fill(image, x0, y0, x1, y1, body)
        _disc(image, cx, cy, 0.35 * gsd, np.clip(rng.uniform(0.2, 1.0, 3), 0, 1))  # the rider's helmet
        return x0, y0, x1, y1
    paint = rng.uniform(0.05, 0.95, 3) if rng.random() < 0.7 else np.full(3, rng.choice([0.1, 0.85, 0.95]))
    if kind == "bus":
        paint = rng.choice([[0.9, 0.75, 0.1], [0.8, 0.15, 0.1], [0.2, 0.45, 0.8], [0.95, 0.95, 0.95]])
    _fill(image, x0, y0, x1, y1, paint)
    glass = np.array([0.12, 0.15, 0.22])
    if kind in ("car", "van"):  # windscreen, roof, rear window
        a, b = (0.62, 0.78) if forward else (0.22, 0.38)
        c, d = (0.12, 0.22) if forward else (0.78, 0.88)
        for lo, hi, colour in ((a, b, glass), (c, d, glass * 1.3)):
            if horizontal:
                _fill(image, x0 + lo * bw, y0 + 0.12 * bh, x0 + hi * bw, y1 - 0.12 * bh, colour)
            else:
                _fill(image, x0 + 0.12 * bw, y0 + lo * bh, x1 - 0.12 * bw, y0 + hi * bh, colour)
    elif kind == "truck":  # cab at the front, a lighter cargo box behind
        split = 0.78 if forward else 0.22
        cargo = np.clip(paint * 0.5 + 0.45, 0, 1)
        lo, hi = (0.0, split - 0.03) if forward else (split + 0.03, 1.0)
        if horizontal:
            _fill(image, x0 + lo * bw, y0, x0 + hi * bw, y1, cargo)
        else:
            _fill(image, x0, y0 + lo * bh, x1, y0 + hi * bh, cargo)
    else:  # bus: roof vents in a row
        for t in np.linspace(0.2, 0.8, 4):
            px, py = (x0 + t * bw, cy) if horizontal else (cx, y0 + t * bh)
            _fill(image, px - 0.4 * gsd, py - 0.4 * gsd, px + 0.4 * gsd, py + 0.4 * gsd, paint * 0.6)
    return x0, y0, x1, y1


def _pedestrian(image: np.ndarray, rng: np.random.Generator, cx: float, cy: float, gsd: float):
    size = _SIZES["pedestrian"][0] * gsd * rng.uniform(0.9, 1.1)
    _disc(image, cx + 0.3 * size, cy + 0.3 * size, 0.45 * size, (0, 0, 0), alpha=0.45)  # shadow
    _disc(image, cx, cy, 0.42 * size, np.clip(rng.uniform(0.05, 1.0, 3), 0, 1))  # shoulders
    _disc(image, cx, cy, 0.2 * size, rng.choice([[0.1, 0.08, 0.05], [0.35, 0.25, 0.15], [0.8, 0.7, 0.5]]))  # head
    return cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2


def render(seed: int, size: int = 192, min_gsd: float = 4.0, max_gsd: float = 8.0) -> AerialScene:
    rng = np.random.default_rng(seed)
    gsd = rng.uniform(min_gsd, max_gsd)
    image = np.zeros((size, size, 3), np.float32)
    _ground(image, rng)
    lane = 3.5 * gsd
    roads = []  # (horizontal, centre, half width)
    for horizontal in (True, False):
        if rng.random() < (0.85 if horizontal else 0.55):
            roads.append((horizontal, rng.uniform(0.2, 0.8) * size, lane * (2 if rng.random() < 0.7 else 1)))
    if not roads:
        roads.append((bool(rng.random() < 0.5), rng.uniform(0.3, 0.7) * size, 2 * lane))
    # houses away from the roads
    for _ in range(int(rng.integers(2, 9))):
        bw, bh = rng.uniform(7, 14, 2) * gsd
        x0, y0 = rng.uniform(-0.1, 1.0, 2) * size
        if all(abs((y0 + bh / 2 if h else x0 + bw / 2) - c) > half + max(bw, bh) / 2 + gsd for h, c, half in roads):
            _roof(image, rng, x0, y0, bw, bh)
    asphalt = np.full(3, rng.uniform(0.25, 0.42))
    for horizontal, centre, half in roads:
        if horizontal:
            _fill(image, 0, centre - half - gsd, size, centre + half + gsd, asphalt + 0.25)  # kerbs and pavement
            _fill(image, 0, centre - half, size, centre + half, asphalt)
        else:
            _fill(image, centre - half - gsd, 0, centre + half + gsd, size, asphalt + 0.25)
            _fill(image, centre - half, 0, centre + half, size, asphalt)
    for horizontal, centre, half in roads:  # dashed centre line, after both roads so it crosses the junction
        for t in np.arange(rng.uniform(0, 6) * gsd, size, 6 * gsd):
            if horizontal:
                _fill(image, t, centre - 0.12 * gsd, t + 3 * gsd, centre + 0.12 * gsd, (0.95, 0.95, 0.9))
            else:
                _fill(image, centre - 0.12 * gsd, t, centre + 0.12 * gsd, t + 3 * gsd, (0.95, 0.95, 0.9))
    objects: list[tuple[str, tuple[float, float, float, float]]] = []
    kinds, weights = list(_VEHICLE_WEIGHTS), np.array(list(_VEHICLE_WEIGHTS.values()))
    for horizontal, centre, half in roads:
        lanes = int(round(half / lane))
        for k in range(-lanes, lanes):
            offset = centre + (k + 0.5) * lane
            forward = k >= 0
            t = rng.uniform(-5, 10) * gsd
            while t < size:
                kind = str(rng.choice(kinds, p=weights / weights.sum()))
                length = _SIZES[kind][0] * gsd
                cx, cy = (t + length / 2, offset) if horizontal else (offset, t + length / 2)
                cross = [c for h, c, hf in roads if h != horizontal]
                if not any(abs((cx if horizontal else cy) - c) < hf + length / 2 for c, hf in
                           [(c, hf) for h, c, hf in roads if h != horizontal]) or not cross:
                    objects.append((kind, _vehicle(image, rng, kind, cx, cy, gsd, horizontal, forward)))
                t += length + rng.uniform(1.5, 25) * gsd
    if rng.random() < 0.4:  # a parking lot: rows of cars side by side
        x0, y0 = rng.uniform(0.05, 0.55, 2) * size
        cols, rows = int(rng.integers(3, 8)), int(rng.integers(1, 3))
        _fill(image, x0 - gsd, y0 - gsd, x0 + cols * 2.8 * gsd + gsd, y0 + rows * 6 * gsd + gsd, asphalt + 0.08)
        for r in range(rows):
            for c in range(cols):
                if rng.random() < 0.8:
                    cx, cy = x0 + (c + 0.5) * 2.8 * gsd, y0 + (r + 0.5) * 6 * gsd
                    kind = "van" if rng.random() < 0.2 else "car"
                    objects.append((kind, _vehicle(image, rng, kind, cx, cy, gsd, False, r % 2 == 0)))
    for _ in range(int(rng.integers(2, 10))):  # pedestrians, beside the roads and anywhere
        horizontal, centre, half = roads[int(rng.integers(len(roads)))]
        if rng.random() < 0.6:
            side = centre + rng.choice([-1, 1]) * (half + rng.uniform(0.3, 1.5) * gsd)
            along = rng.uniform(0, size)
            cx, cy = (along, side) if horizontal else (side, along)
        else:
            cx, cy = rng.uniform(0, size, 2)
        objects.append(("pedestrian", _pedestrian(image, rng, cx, cy, gsd)))
    for _ in range(int(rng.integers(0, 6))):  # tree crowns, over whatever is below
        r = rng.uniform(1.5, 3.5) * gsd
        cx, cy = rng.uniform(0, size, 2)
        _disc(image, cx + r * 0.3, cy + r * 0.3, r, (0, 0, 0), alpha=0.4)
        _disc(image, cx, cy, r, np.clip(np.array([0.15, 0.35, 0.1]) * rng.uniform(0.7, 1.3), 0, 1))
    boxes, labels = [], []
    for kind, (x0, y0, x1, y1) in objects:
        clipped = (max(x0, 0.0), max(y0, 0.0), min(x1, float(size)), min(y1, float(size)))
        inside = max(clipped[2] - clipped[0], 0) * max(clipped[3] - clipped[1], 0)
        if inside >= MIN_INSIDE * (x1 - x0) * (y1 - y0) and min(clipped[2] - clipped[0], clipped[3] - clipped[1]) >= 2:
            boxes.append(clipped)
            labels.append(_LABEL[kind])
    image = image * rng.uniform(0.8, 1.15) + rng.normal(0, rng.uniform(0.01, 0.03), image.shape)
    return AerialScene((image.clip(0, 1) * 255 + 0.5).astype(np.uint8), np.array(boxes, np.float32).reshape(-1, 4),
                       np.array(labels, np.int64))


@lru_cache(maxsize=8)
def generate(split: str, count: int, seed: int, size: int, min_gsd: float, max_gsd: float) -> RenderedScenes:
    return RenderedScenes(render, split, count, seed, 2, (size, min_gsd, max_gsd))


class AerialDetection(Dataset):
    def __init__(self, items: RenderedScenes):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        scene = self.items[index]
        labels = torch.from_numpy(scene.labels)
        return torch.from_numpy(scene.image).permute(2, 0, 1).contiguous(), {
            "boxes": torch.from_numpy(scene.boxes), "labels": labels, "iscrowd": torch.zeros_like(labels)}
