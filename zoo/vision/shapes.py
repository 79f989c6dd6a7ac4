"""Shapes: a procedurally generated image-classification dataset that needs no files and no network.

Each 32x32 RGB image holds one shape whose class is the label, drawn at a random position, scale and rotation in
a random colour over a random gradient background, with distractor strokes and dots and pixel noise. The colour
says nothing about the class. Rotations stay within about +-35 degrees of upright: with full turns the small CNN
needs several times the training to reach the same accuracy. Every class is symmetric about its upright axis and
the rotation range is symmetric, so a horizontal flip maps the data onto itself and is a valid augmentation.
The small CNN reaches about 97% top-1 in half a minute on two CPU cores; a linear classifier on the pixels stays
near 12%.

Images are rasterised for a whole batch at once from signed-distance functions evaluated on the pixel grid after
an inverse similarity transform per sample, anti-aliased by clamping the distance in pixels to one pixel's width.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import torch
from torch import Tensor

from zoo.errors import ConfigError
from zoo.vision.datasets import ImageSplit, TensorImageDataset

CLASSES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "crescent",
    "arrow",
    "heart",
    "diamond",
)

NUM_TRAIN = 20_000
NUM_VAL = 2_000
SPLITS = ("train", "val", "test")

# Per-channel statistics of shapes("train") with the defaults (seed 0, 20,000 images, 32x32), in [0, 1].
MEAN: tuple[float, float, float] = (0.501, 0.500, 0.500)
STD: tuple[float, float, float] = (0.292, 0.292, 0.292)

_CHUNK = 512
# How hard the images are: shape scale (fraction of the half-width), rotation range (radians), distractors drawn
# below and above the shape, pixel-noise standard deviation range, and least RGB distance of shape to background.
_SCALE = (0.45, 0.7)
_ROTATION = 0.6
_CLUTTER_BELOW = 3
_CLUTTER_ABOVE = 1
_NOISE = (0.02, 0.06)
_CONTRAST = 0.5
_SPLIT_STREAM = {"train": 0, "val": 1}


# Signed distances in the shape's own frame, where every shape spans roughly the unit disk; negative inside.
def _polygon(n: int, radius: float = 1.0) -> Callable[[Tensor, Tensor], Tensor]:
    """A regular n-gon with circumradius ``radius``, one vertex on +y."""

    def sdf(x: Tensor, y: Tensor) -> Tensor:
        angle = torch.atan2(x, y)
        sector = 2 * math.pi / n
        folded = torch.remainder(angle, sector) - sector / 2
        return torch.hypot(x, y) * torch.cos(folded) - radius * math.cos(math.pi / n)

    return sdf


def _star(x: Tensor, y: Tensor, points: int = 5, outer: float = 1.0, inner: float = 0.45) -> Tensor:
    sector = math.pi / points
    angle = torch.remainder(torch.atan2(x, y), 2 * sector)
    angle = torch.minimum(angle, 2 * sector - angle)
    r = torch.hypot(x, y)
    qx, qy = r * torch.cos(angle), r * torch.sin(angle)
    ax, ay = outer, 0.0
    bx, by = inner * math.cos(sector), inner * math.sin(sector)
    ex, ey = bx - ax, by - ay
    length = math.hypot(ex, ey)
    # The edge's normal pointing away from the centre.
    nx, ny = ey / length, -ex / length
    if nx * ax + ny * ay < 0:
        nx, ny = -nx, -ny
    return (qx - ax) * nx + (qy - ay) * ny


def _box(x: Tensor, y: Tensor, half_w: float, half_h: float) -> Tensor:
    dx, dy = x.abs() - half_w, y.abs() - half_h
    outside = torch.hypot(dx.clamp(min=0), dy.clamp(min=0))
    return outside + torch.maximum(dx, dy).clamp(max=0)


def _circle(x: Tensor, y: Tensor) -> Tensor:
    return torch.hypot(x, y) - 0.9


def _square(x: Tensor, y: Tensor) -> Tensor:
    return _box(x, y, 0.72, 0.72)


def _cross(x: Tensor, y: Tensor) -> Tensor:
    return torch.minimum(_box(x, y, 0.95, 0.3), _box(x, y, 0.3, 0.95))


def _ring(x: Tensor, y: Tensor) -> Tensor:
    return (torch.hypot(x, y) - 0.68).abs() - 0.25


def _crescent(x: Tensor, y: Tensor) -> Tensor:
    return torch.maximum(torch.hypot(x, y) - 0.92, 0.75 - torch.hypot(x, y - 0.5))


def _arrow(x: Tensor, y: Tensor) -> Tensor:
    shaft = _box(x, y + 0.35, 0.18, 0.6)
    head = torch.maximum(0.15 - y, 0.8 * x.abs() + 0.6 * y - 0.57)
    return torch.minimum(shaft, head)


def _heart(x: Tensor, y: Tensor) -> Tensor:
    """A unit square standing on a corner with a disk on each of its two upper edges."""
    y = y + 0.8 - math.sqrt(0.5)
    u, v = (x + y) * math.sqrt(0.5), (y - x) * math.sqrt(0.5)
    body = _box(u, v, 0.5, 0.5)
    lobe_x = lobe_y = math.sqrt(0.125)
    lobes = torch.minimum(torch.hypot(x - lobe_x, y - lobe_y), torch.hypot(x + lobe_x, y - lobe_y)) - 0.5
    return torch.minimum(body, lobes)


def _diamond(x: Tensor, y: Tensor) -> Tensor:
    a, b = 0.5, 1.0
    return (x.abs() / a + y.abs() / b - 1) * (a * b / math.hypot(a, b))


_SDFS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "circle": _circle,
    "square": _square,
    "triangle": _polygon(3, 1.0),
    "star": _star,
    "cross": _cross,
    "ring": _ring,
    "crescent": _crescent,
    "arrow": _arrow,
    "heart": _heart,
    "diamond": _diamond,
}


def _coverage(distance_px: Tensor) -> Tensor:
    """Fraction of a pixel inside the shape, from the signed distance of its centre in pixels."""
    return distance_px.neg_().add_(0.5).clamp_(0, 1)


def _grid(image_size: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates in [-1, 1], y pointing up."""
    t = (torch.arange(image_size, dtype=torch.float32) + 0.5) / image_size * 2 - 1
    return t.view(1, 1, -1), -t.view(1, -1, 1)


def _render(labels: Tensor, generator: torch.Generator, image_size: int) -> Tensor:
    n = labels.numel()
    px = image_size / 2  # pixels per unit of the [-1, 1] frame
    gx, gy = _grid(image_size)

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return torch.rand(n, *shape, generator=generator) * (high - low) + low

    # Background: a linear gradient between two nearby random colours along a random direction.
    c0 = uniform(0, 1, 3)
    c1 = (c0 + uniform(-0.4, 0.4, 3)).clamp(0, 1)
    direction = uniform(0, 2 * math.pi)
    ramp = (gx * torch.cos(direction).view(-1, 1, 1) + gy * torch.sin(direction).view(-1, 1, 1)) * 0.5 + 0.5
    ramp = ramp.unsqueeze(1)
    image = c0.view(n, 3, 1, 1) + (c1 - c0).view(n, 3, 1, 1) * ramp

    def paint(alpha: Tensor, colour: Tensor) -> None:
        image.lerp_(colour.view(n, 3, 1, 1).expand_as(image), alpha.unsqueeze(1))

    def clutter(count: int) -> None:
        """Strokes and dots (capsules of zero length) too short or small to look like any class."""
        for _ in range(count):
            stroke, shown = uniform(0, 1) < 0.6, uniform(0, 1) < 0.7
            ax, ay = uniform(-1, 1).view(n, 1, 1), uniform(-1, 1).view(n, 1, 1)
            angle = uniform(0, 2 * math.pi)
            length = torch.where(stroke, uniform(0.15, 0.5), 0.0)
            radius = torch.where(stroke, uniform(0.03, 0.08), uniform(0.05, 0.14))
            radius = torch.where(shown, radius, -4.0).view(n, 1, 1)
            ex, ey = (length * torch.cos(angle)).view(n, 1, 1), (length * torch.sin(angle)).view(n, 1, 1)
            qx, qy = gx - ax, gy - ay
            h = ((qx * ex + qy * ey) / (ex * ex + ey * ey + 1e-9)).clamp_(0, 1)
            distance = torch.hypot(qx - h * ex, qy - h * ey).sub_(radius)
            paint(_coverage(distance * px).mul_(0.9), uniform(0, 1, 3))

    clutter(_CLUTTER_BELOW)

    # The shape: a colour far enough from the background's mean that it stays visible.
    colour = uniform(0, 1, 3)
    background = (c0 + c1) / 2
    faint = (colour - background).norm(dim=1) < _CONTRAST
    colour = torch.where(faint.unsqueeze(1), torch.remainder(background + 0.5, 1.0), colour)
    scale = uniform(*_SCALE)
    margin = 1 - scale * 0.85
    cx, cy = uniform(-1, 1) * margin, uniform(-1, 1) * margin
    theta = uniform(-_ROTATION, _ROTATION)
    cos_t, sin_t = torch.cos(theta).view(n, 1, 1), torch.sin(theta).view(n, 1, 1)
    dx, dy = (gx - cx.view(n, 1, 1)) / scale.view(n, 1, 1), (gy - cy.view(n, 1, 1)) / scale.view(n, 1, 1)
    lx, ly = cos_t * dx + sin_t * dy, -sin_t * dx + cos_t * dy
    alpha = torch.empty(n, image_size, image_size)
    for c, name in enumerate(CLASSES):
        idx = (labels == c).nonzero().squeeze(1)
        if idx.numel():
            alpha[idx] = _coverage(_SDFS[name](lx[idx], ly[idx]) * (scale[idx] * px).view(-1, 1, 1))
    paint(alpha, colour)

    clutter(_CLUTTER_ABOVE)

    image.addcmul_(torch.randn(image.shape, generator=generator), uniform(*_NOISE).view(n, 1, 1, 1))
    return image.mul_(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def generate(num: int, seed: int, image_size: int = 32) -> tuple[Tensor, Tensor]:
    """uint8 images (N, 3, H, W) and int64 labels (N,), balanced classes; bit-identical for the same arguments.

    Runs on one thread: rendering is thousands of small element-wise ops, each a sync point of the thread pool, and
    when other processes compete for the cores every sync can wait a scheduler slice (20-60 s instead of 2 s for
    22,000 images on two shared cores). The result does not depend on the thread count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        labels = (torch.arange(num) % len(CLASSES))[torch.randperm(num, generator=generator)]
        images = torch.empty(num, 3, image_size, image_size, dtype=torch.uint8)
        for start in range(0, num, _CHUNK):
            stop = min(start + _CHUNK, num)
            images[start:stop] = _render(labels[start:stop], generator, image_size)
    finally:
        torch.set_num_threads(threads)
    return images, labels


@lru_cache(maxsize=8)
def _cached(split: str, num: int, seed: int, image_size: int) -> tuple[Tensor, Tensor]:
    """Train uses even generator seeds and val odd ones, so no (split, seed) pair shares a stream with another."""
    return generate(num, 2 * seed + _SPLIT_STREAM[split] + 7919, image_size)


def shapes(
    split: str,
    root: str | None = None,
    download: bool = False,
    num_train: int = NUM_TRAIN,
    num_val: int = NUM_VAL,
    seed: int = 0,
    image_size: int = 32,
) -> ImageSplit:
    """The shapes dataset's ``split``; ``root`` and ``download`` are accepted for a uniform signature and unused."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset 'shapes'. Valid splits: {', '.join(SPLITS)}.")
    split = "val" if split == "test" else split
    num = num_train if split == "train" else num_val
    images, labels = _cached(split, num, seed, image_size)
    return ImageSplit(
        dataset=TensorImageDataset(images, labels),
        classes=list(CLASSES),
        channels=3,
        image_size=image_size,
        mean=MEAN,
        std=STD,
    )
