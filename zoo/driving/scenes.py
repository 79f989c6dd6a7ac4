"""Road scenes: a generated street-view dataset with boxes and pixel labels, needing no files and no network.

Each image is a camera view down a road: a sky gradient, buildings with windows and trees along the horizon, a
road in perspective with dashed lane markings and kerbs, and sidewalks. Cars and trucks (seen from behind or from
the side), pedestrians, cyclists and traffic lights stand on the ground plane, sized by their distance, and are
drawn far to near so that nearer ones occlude farther ones. Objects less than 35% visible (occluded or cut by the
image border) get no box, as a labeller would skip them. Every scene comes from its own seeded generator, so a
scene depends only on (seed, split, index) and the dataset is identical on every machine; scenes are rendered on
first access, about 5 ms each.

The same drawing yields a semantic label per pixel in Cityscapes-like classes (lane markings count as road, as in
Cityscapes), which the segmentation models train on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DETECTION_CLASSES: tuple[str, ...] = ("car", "truck", "pedestrian", "cyclist", "traffic_light")
SEGMENTATION_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "pole", "traffic_light", "vegetation", "sky", "person", "rider", "car", "truck",
    "bicycle",
)
_SEG = {name: i for i, name in enumerate(SEGMENTATION_CLASSES)}
_DET = {name: i + 1 for i, name in enumerate(DETECTION_CLASSES)}  # 0 is the detectors' background
_SPLIT_STREAM = {"train": 0, "val": 1}
MIN_VISIBLE = 0.35  # objects less visible than this get no box

# Real-world sizes in metres: (width, height) of the visible face.
_SIZES = {
    "car_rear": (1.8, 1.5), "car_side": (4.2, 1.45), "truck_rear": (2.5, 3.4), "truck_side": (6.5, 3.4),
    "pedestrian": (0.75, 1.75), "cyclist": (1.75, 1.8), "traffic_light": (0.7, 1.5),
}
_ROAD_HALF_WIDTH_M = 7.0  # the road spans +-7 m around its centre line


@dataclass
class Scene:
    """One generated image: ``image`` uint8 (H, W, 3), ``boxes`` float32 (N, 4) xyxy, ``labels`` int64 (N,) in
    1..len(DETECTION_CLASSES), ``mask`` uint8 (H, W) of SEGMENTATION_CLASSES indices."""

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    mask: np.ndarray


class _Canvas:
    """Paints colour, semantic label and instance id together, on clipped slices (cheap for small shapes)."""

    def __init__(self, height: int, width: int):
        self.h, self.w = height, width
        self.image = np.zeros((height, width, 3), np.float32)
        self.mask = np.zeros((height, width), np.uint8)
        self.instance = np.full((height, width), -1, np.int32)

    def _clip(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (max(int(round(x0)), 0), max(int(round(y0)), 0), min(int(round(x1)), self.w),
                min(int(round(y1)), self.h))

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour, label: int, instance: int = -1) -> None:
        a, b, c, d = self._clip(x0, y0, x1, y1)
        if c <= a or d <= b:
            return
        self.image[b:d, a:c] = colour
        self.mask[b:d, a:c] = label
        self.instance[b:d, a:c] = instance

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, colour, label: int, instance: int = -1,
                ring: float = 0.0) -> None:
        """A filled ellipse, or a ring of relative thickness ``ring`` (wheels)."""
        a, b, c, d = self._clip(cx - rx, cy - ry, cx + rx + 1, cy + ry + 1)
        if c <= a or d <= b:
            return
        ys, xs = np.ogrid[b:d, a:c]
        r = ((xs + 0.5 - cx) / max(rx, 0.5)) ** 2 + ((ys + 0.5 - cy) / max(ry, 0.5)) ** 2
        inside = r <= 1.0
        if ring:
            inside &= r >= (1.0 - ring) ** 2
        self.image[b:d, a:c][inside] = colour
        self.mask[b:d, a:c][inside] = label
        self.instance[b:d, a:c][inside] = instance


def _colour(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    return rng.uniform(low, high, 3).astype(np.float32)


def _background(canvas: _Canvas, rng: np.random.Generator, horizon: int, vanish_x: float, bottom_x: float) -> None:
    h, w = canvas.h, canvas.w
    top, low = (_colour(rng, 0.35, 0.6) * [0.7, 0.85, 1.2]).clip(0, 1), _colour(rng, 0.7, 0.95)
    t = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    canvas.image[:horizon] = top * (1 - t) + low * t
    canvas.mask[:horizon] = _SEG["sky"]
    x = 0.0
    while x < w:  # buildings along the horizon, with rows of windows
        bw = rng.uniform(0.12, 0.3) * w
        top_y = horizon - rng.uniform(0.15, 0.85) * horizon
        wall = _colour(rng, 0.25, 0.75) * rng.uniform(0.7, 1.1, 3)
        canvas.rect(x, top_y, x + bw, horizon, wall.clip(0, 1), _SEG["building"])
        window = wall * rng.uniform(0.35, 0.6)
        step = max(rng.uniform(0.03, 0.05) * w, 4)
        for wy in np.arange(top_y + step * 0.5, horizon - step * 0.5, step):
            for wx in np.arange(x + step * 0.4, x + bw - step * 0.6, step):
                canvas.rect(wx, wy, wx + step * 0.5, wy + step * 0.55, window, _SEG["building"])
        x += bw + rng.uniform(0, 0.05) * w
    for _ in range(int(rng.integers(0, 4))):  # trees in front of the buildings
        tx, size = rng.uniform(0, w), rng.uniform(0.06, 0.14) * w
        trunk = (0.3, 0.2, 0.1)
        canvas.rect(tx - size * 0.08, horizon - size * 1.2, tx + size * 0.08, horizon, trunk, _SEG["vegetation"])
        canvas.ellipse(tx, horizon - size * 1.4, size * 0.6, size * 0.55, _colour(rng, 0.1, 0.45) * [0.5, 1.0, 0.4],
                       _SEG["vegetation"])
    ys = np.arange(horizon, h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
    depth = (ys - horizon) / (h - horizon)  # 0 at the horizon, 1 at the bottom row
    centre = vanish_x + (bottom_x - vanish_x) * depth
    metres = (xs - centre) / (depth * _px_per_metre(h, w, horizon, h) + 1e-6)  # lateral position on the ground
    ground = canvas.image[horizon:]
    road = np.abs(metres) <= _ROAD_HALF_WIDTH_M
    asphalt, pavement = _colour(rng, 0.25, 0.45).mean() * np.ones(3), _colour(rng, 0.55, 0.75) * [1.0, 0.97, 0.9]
    ground[:] = np.where(road[..., None], asphalt, pavement).astype(np.float32)
    canvas.mask[horizon:] = np.where(road, _SEG["road"], _SEG["sidewalk"])
    kerb = (np.abs(metres) > _ROAD_HALF_WIDTH_M) & (np.abs(metres) <= _ROAD_HALF_WIDTH_M + 0.3)
    ground[kerb] = 0.8
    inverse_depth = 1.0 / np.maximum(depth, 1e-3)  # dashes repeat evenly along the road, shorter with distance
    dashed = (np.floor(inverse_depth * rng.uniform(1.5, 2.5) + rng.uniform(0, 1)) % 2) == 0
    for lane in (-_ROAD_HALF_WIDTH_M / 2, 0.0, _ROAD_HALF_WIDTH_M / 2):
        line = np.abs(metres - lane) <= 0.12
        ground[line & (dashed if lane else True) & road] = (0.95, 0.95, 0.9) if lane else (0.95, 0.85, 0.3)


def _px_per_metre(h: int, w: int, horizon: int, y: float) -> float:
    """Pixels per metre on the ground at image row ``y``: zero at the horizon, growing linearly towards the camera."""
    return (y - horizon) / (h - horizon) * (1.2 * w / (2 * _ROAD_HALF_WIDTH_M))


def _vehicle(canvas: _Canvas, rng, kind: str, view: str, x0, y0, x1, y1, inst: int) -> None:
    bw, bh = x1 - x0, y1 - y0
    body = _colour(rng, 0.05, 0.95)
    glass, tyre, lamp = (0.15, 0.2, 0.3), (0.05, 0.05, 0.05), (0.9, 0.1, 0.1)
    label = _SEG[kind]
    if view == "rear":
        canvas.rect(x0 + 0.05 * bw, y1 - 0.18 * bh, x0 + 0.25 * bw, y1, tyre, label, inst)
        canvas.rect(x1 - 0.25 * bw, y1 - 0.18 * bh, x1 - 0.05 * bw, y1, tyre, label, inst)
        if kind == "car":
            canvas.rect(x0 + 0.12 * bw, y0, x1 - 0.12 * bw, y0 + 0.45 * bh, body * 0.9, label, inst)
            canvas.rect(x0 + 0.2 * bw, y0 + 0.08 * bh, x1 - 0.2 * bw, y0 + 0.4 * bh, glass, label, inst)
            canvas.rect(x0, y0 + 0.42 * bh, x1, y1 - 0.12 * bh, body, label, inst)
        else:
            canvas.rect(x0, y0, x1, y1 - 0.12 * bh, body, label, inst)
            canvas.rect(x0 + 0.47 * bw, y0 + 0.05 * bh, x0 + 0.53 * bw, y1 - 0.15 * bh, body * 0.6, label, inst)
        canvas.rect(x0 + 0.04 * bw, y1 - 0.42 * bh, x0 + 0.16 * bw, y1 - 0.3 * bh, lamp, label, inst)
        canvas.rect(x1 - 0.16 * bw, y1 - 0.42 * bh, x1 - 0.04 * bw, y1 - 0.3 * bh, lamp, label, inst)
        return
    flip = rng.random() < 0.5  # facing left or right
    def fx(a: float, b: float) -> tuple[float, float]:
        return (x1 - b * bw, x1 - a * bw) if flip else (x0 + a * bw, x0 + b * bw)
    r = 0.2 * bh if kind == "car" else 0.13 * bh
    if kind == "car":
        a, b = fx(0.22, 0.75)
        canvas.rect(a, y0, b, y0 + 0.5 * bh, body * 0.9, label, inst)
        a, b = fx(0.27, 0.7)
        canvas.rect(a, y0 + 0.08 * bh, b, y0 + 0.45 * bh, glass, label, inst)
        canvas.rect(x0, y0 + 0.45 * bh, x1, y1 - r, body, label, inst)
    else:
        a, b = fx(0.0, 0.72)
        canvas.rect(a, y0, b, y1 - r, body, label, inst)  # the cargo box
        a, b = fx(0.74, 1.0)
        canvas.rect(a, y0 + 0.3 * bh, b, y1 - r, body * 0.6 + 0.2, label, inst)  # the cab
        a, b = fx(0.8, 0.97)
        canvas.rect(a, y0 + 0.36 * bh, b, y0 + 0.55 * bh, glass, label, inst)
    for at in ((0.2, 0.8) if kind == "car" else (0.12, 0.3, 0.85)):
        cx = sum(fx(at, at)) / 2
        canvas.ellipse(cx, y1 - r, r, r, tyre, label, inst)


def _person(canvas: _Canvas, rng, x0, y0, x1, y1, inst: int, label: int, legs: bool = True) -> None:
    bw, bh = x1 - x0, y1 - y0
    shirt, trousers = _colour(rng, 0.1, 0.95), _colour(rng, 0.05, 0.4)
    skin = np.array((0.85, 0.65, 0.5), np.float32) * rng.uniform(0.5, 1.1)
    canvas.ellipse((x0 + x1) / 2, y0 + 0.08 * bh, 0.22 * bw, 0.08 * bh, skin.clip(0, 1), label, inst)
    canvas.rect(x0 + 0.1 * bw, y0 + 0.16 * bh, x1 - 0.1 * bw, y0 + 0.55 * bh, shirt, label, inst)
    canvas.rect(x0, y0 + 0.18 * bh, x0 + 0.14 * bw, y0 + 0.5 * bh, shirt * 0.8, label, inst)
    canvas.rect(x1 - 0.14 * bw, y0 + 0.18 * bh, x1, y0 + 0.5 * bh, shirt * 0.8, label, inst)
    if legs:
        stride = rng.uniform(0, 0.15) * bw
        canvas.rect(x0 + 0.15 * bw - stride, y0 + 0.55 * bh, x0 + 0.45 * bw, y1, trousers, label, inst)
        canvas.rect(x0 + 0.55 * bw, y0 + 0.55 * bh, x1 - 0.15 * bw + stride, y1, trousers, label, inst)


def _cyclist(canvas: _Canvas, rng, x0, y0, x1, y1, inst: int) -> None:
    bw, bh = x1 - x0, y1 - y0
    r = 0.2 * bh
    frame = _colour(rng, 0.1, 0.9)
    for cx in (x0 + r, x1 - r):
        canvas.ellipse(cx, y1 - r, r, r, (0.05, 0.05, 0.05), _SEG["bicycle"], inst, ring=0.3)
    canvas.rect(x0 + r, y1 - r - 0.04 * bh, x1 - r, y1 - r + 0.04 * bh, frame, _SEG["bicycle"], inst)
    canvas.rect(x0 + 0.45 * bw, y1 - 0.5 * bh, x0 + 0.5 * bw, y1 - r, frame, _SEG["bicycle"], inst)
    _person(canvas, rng, x0 + 0.3 * bw, y0, x0 + 0.65 * bw, y1 - 0.45 * bh, inst, _SEG["rider"], legs=False)
    canvas.rect(x0 + 0.4 * bw, y1 - 0.45 * bh, x0 + 0.55 * bw, y1 - 0.2 * bh, _colour(rng, 0.05, 0.4), _SEG["rider"],
                inst)


def _traffic_light(canvas: _Canvas, rng, x0, y0, x1, y1, ground: float, inst: int) -> None:
    bw, bh = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    canvas.rect(cx - 0.1 * bw, y1, cx + 0.1 * bw, ground, (0.3, 0.3, 0.32), _SEG["pole"])
    canvas.rect(x0, y0, x1, y1, np.array((0.12, 0.12, 0.1)) + rng.uniform(0, 0.15), _SEG["traffic_light"], inst)
    lit = int(rng.integers(0, 3))
    for i, colour in enumerate(((0.95, 0.1, 0.1), (0.95, 0.75, 0.1), (0.1, 0.9, 0.3))):
        shown = colour if i == lit else tuple(c * 0.3 for c in colour)
        canvas.ellipse(cx, y0 + (i + 0.5) * bh / 3, 0.33 * bw, 0.13 * bh, shown, _SEG["traffic_light"], inst)


def _place(rng, kind: str) -> tuple[float, float, str]:
    """Depth (0 horizon .. 1 bottom row), lateral position in metres, and view of a new object."""
    if kind in ("car", "truck"):
        lane = rng.choice((-1.75, 1.75, -5.25, 5.25))
        view = "side" if rng.random() < 0.25 else "rear"
        return rng.uniform(0.4 if kind == "car" else 0.3, 1.0), lane + rng.uniform(-0.8, 0.8), view
    if kind == "pedestrian":
        on_road = rng.random() < 0.25
        lateral = rng.uniform(-6, 6) if on_road else rng.choice((-1, 1)) * rng.uniform(7.5, 10)
        return rng.uniform(0.4, 1.0), lateral, ""
    if kind == "cyclist":
        return rng.uniform(0.4, 1.0), rng.choice((-1, 1)) * rng.uniform(5.5, 7.5), ""
    return rng.uniform(0.55, 1.0), rng.choice((-1, 1)) * rng.uniform(7.3, 8.5), ""


def render(seed: int, height: int = 128, width: int = 192, max_objects: int = 10) -> Scene:
    """The scene of one seed (a whole generator's worth of randomness is drawn from it)."""
    rng = np.random.default_rng(seed)
    horizon = int(height * rng.uniform(0.35, 0.5))
    vanish_x = width * rng.uniform(0.4, 0.6)
    bottom_x = width * rng.uniform(0.4, 0.6)
    canvas = _Canvas(height, width)
    _background(canvas, rng, horizon, vanish_x, bottom_x)
    weights = np.array([0.35, 0.12, 0.25, 0.13, 0.15])
    kinds = rng.choice(DETECTION_CLASSES, size=int(rng.integers(2, max_objects + 1)), p=weights / weights.sum())
    objects = []
    for kind in kinds:
        depth, lateral, view = _place(rng, str(kind))
        y = horizon + depth * (height - horizon)
        scale = _px_per_metre(height, width, horizon, y) * rng.uniform(0.9, 1.1)
        size_key = f"{kind}_{view}" if view else str(kind)
        mw, mh = _SIZES[size_key]
        cx = vanish_x + (bottom_x - vanish_x) * depth + lateral * scale
        bottom = y - (5.0 - mh) * scale if kind == "traffic_light" else y
        objects.append((y, str(kind), view, cx - mw * scale / 2, bottom - mh * scale, cx + mw * scale / 2, bottom))
    objects.sort()  # far (small y) first, so nearer objects are painted over them
    for inst, (ground, kind, view, x0, y0, x1, y1) in enumerate(objects):
        if kind in ("car", "truck"):
            _vehicle(canvas, rng, kind, view, x0, y0, x1, y1, inst)
        elif kind == "pedestrian":
            _person(canvas, rng, x0, y0, x1, y1, inst, _SEG["person"])
        elif kind == "cyclist":
            _cyclist(canvas, rng, x0, y0, x1, y1, inst)
        else:
            _traffic_light(canvas, rng, x0, y0, x1, y1, ground, inst)
    drawn = np.bincount(canvas.instance.ravel() + 1, minlength=len(objects) + 1)[1:]
    boxes, labels = [], []
    for inst, (_, kind, view, x0, y0, x1, y1) in enumerate(objects):
        area = _painted_area(rng, kind, view, x0, y0, x1, y1, inst)
        clipped = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
        big_enough = clipped[2] - clipped[0] >= 2 and clipped[3] - clipped[1] >= 2
        if area > 0 and drawn[inst] / area >= MIN_VISIBLE and big_enough:
            boxes.append(clipped)
            labels.append(_DET[kind])
    image = canvas.image * rng.uniform(0.75, 1.15)  # exposure, then sensor noise
    image = image + rng.normal(0, rng.uniform(0.01, 0.04), image.shape).astype(np.float32)
    return Scene(
        image=(image.clip(0, 1) * 255 + 0.5).astype(np.uint8),
        boxes=np.array(boxes, np.float32).reshape(-1, 4),
        labels=np.array(labels, np.int64),
        mask=canvas.mask,
    )


def _painted_area(rng, kind: str, view: str, x0, y0, x1, y1, inst: int) -> float:
    """Pixels the object would cover alone and uncut: its drawing on an empty canvas of unbounded size."""
    pad = int(max(x1 - x0, y1 - y0)) + 2
    probe = _Canvas(int(y1 - y0) + 2 * pad, int(x1 - x0) + 2 * pad)
    dx, dy = pad - x0, pad - y0
    state = rng.bit_generator.state  # the probe must not change what the scene draws next
    if kind in ("car", "truck"):
        _vehicle(probe, rng, kind, view, x0 + dx, y0 + dy, x1 + dx, y1 + dy, inst)
    elif kind == "pedestrian":
        _person(probe, rng, x0 + dx, y0 + dy, x1 + dx, y1 + dy, inst, _SEG["person"])
    elif kind == "cyclist":
        _cyclist(probe, rng, x0 + dx, y0 + dy, x1 + dx, y1 + dy, inst)
    else:
        _traffic_light(probe, rng, x0 + dx, y0 + dy, x1 + dx, y1 + dy, y1 + dy, inst)
    rng.bit_generator.state = state
    return float((probe.instance == inst).sum())


class SceneStore:
    """The scenes of one split, each rendered on first access and kept: building a dataset costs nothing, and
    reading a few items (a smoke test, a prediction) renders only those."""

    def __init__(self, split: str, count: int, seed: int, height: int, width: int, max_objects: int):
        stream = _SPLIT_STREAM[split]
        self.seeds = [hash((seed, stream, i)) & 0x7FFF_FFFF for i in range(count)]
        self.size, self.max_objects = (height, width), max_objects
        self.scenes: list[Scene | None] = [None] * count

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, index: int) -> Scene:
        scene = self.scenes[index]
        if scene is None:
            scene = self.scenes[index] = render(self.seeds[index], *self.size, self.max_objects)
        return scene


@lru_cache(maxsize=8)
def generate(split: str, count: int, seed: int, height: int, width: int, max_objects: int) -> SceneStore:
    """``count`` scenes of a split, shared per process (tests and the smoke test build the same data often)."""
    return SceneStore(split, count, seed, height, width, max_objects)
