"""Motions: an embedded action-recognition dataset whose classes are movements, so no single frame tells them apart.

Each video is 16 frames of 32x32 RGB (at a nominal 8 frames per second) showing one object over a gradient
background with pixel noise. The class is what the object does over time:

    move_left, move_right     horizontal translation
    rotate_cw, rotate_ccw     turning in place, 12 to 24 degrees a frame
    grow, shrink              scaling by 6 to 10 percent a frame
    bounce                    vertical oscillation
    blink                     opacity alternating between high and low every 1 to 3 frames

The object (one of eight shapes of zoo's image set), its colour, size, start angle, speed, period, opacity and the
background vary per video; every class but the two translations also drifts slowly in a random direction, so that
"something moves" does not tell the class either. Frame statistics are shared across classes by construction:
positions and sizes are drawn for the middle of the video and the motion runs symmetrically around it, so the
frames of a left-moving object are distributed like those of a right-moving one. Only a blinking object's faint
phase (opacity 0.1 to 0.3, below the others' 0.5 to 1) shows in a single frame. A model that averages per-frame
predictions therefore scores far below one that sees motion (see docs/vision.md); a small (2+1)D CNN learns the set in minutes on a CPU.

Videos are rendered for many frames at once from the signed distances of :mod:`zoo.vision.shapes`, deterministic
for a seed. :func:`write_folder` encodes a split as MP4 files in the class-folder layout (``video_folder`` reads it).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from zoo.errors import ConfigError
from zoo.vision.shapes import _SDFS, _coverage, _grid

CLASSES: tuple[str, ...] = (
    "move_left", "move_right", "rotate_cw", "rotate_ccw", "grow", "shrink", "bounce", "blink",
)
SHAPES: tuple[str, ...] = ("triangle", "square", "arrow", "heart", "crescent", "cross", "diamond", "star")
FRAMES, SIZE, FPS = 16, 32, 8.0
NUM_TRAIN, NUM_VAL = 2400, 480
SPLITS = ("train", "val", "test")
# Per-channel statistics of motions("train") with the defaults, in [0, 1].
MEAN: tuple[float, float, float] = (0.50, 0.50, 0.50)
STD: tuple[float, float, float] = (0.28, 0.28, 0.28)

_CHUNK = 64  # videos rendered together
_SPLIT_STREAM = {"train": 0, "val": 1}


def _render(labels: Tensor, generator: torch.Generator, frames: int, size: int) -> Tensor:
    """uint8 videos (N, T, H, W, 3) for ``labels``."""
    n = labels.numel()
    gx, gy = _grid(size)  # (1, 1, W) and (1, H, 1), in [-1, 1], y up
    px = size / 2

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return torch.rand(n, *shape, generator=generator) * (high - low) + low

    t = torch.arange(frames, dtype=torch.float32) - (frames - 1) / 2  # time around the middle frame
    zeros = torch.zeros(n, frames)
    cls = {name: (labels == i).view(n, 1) for i, name in enumerate(CLASSES)}

    # Slow drift for every class but the translations, and the motion that is the class.
    drift_angle, drift_speed = uniform(0, 2 * math.pi), uniform(0, 0.006)
    translating = cls["move_left"] | cls["move_right"]
    drift_x = torch.where(translating, 0.0, (drift_speed * torch.cos(drift_angle)).view(n, 1)) * t
    drift_y = torch.where(translating, 0.0, (drift_speed * torch.sin(drift_angle)).view(n, 1)) * t
    speed = uniform(0.07, 0.11).view(n, 1)
    x = uniform(-0.25, 0.25).view(n, 1) + drift_x + torch.where(cls["move_right"], speed * t, zeros)
    x = x - torch.where(cls["move_left"], speed * t, zeros)
    period, amplitude, phase = uniform(4, 7).view(n, 1), uniform(0.3, 0.45).view(n, 1), uniform(0, 2 * math.pi)
    wave = amplitude * torch.sin(2 * math.pi * t / period + phase.view(n, 1))
    y = uniform(-0.25, 0.25).view(n, 1) + drift_y + torch.where(cls["bounce"], wave, zeros)
    spin = uniform(math.radians(12), math.radians(24)).view(n, 1) * t
    theta = uniform(0, 2 * math.pi).view(n, 1) + torch.where(cls["rotate_ccw"], spin, zeros)
    theta = theta - torch.where(cls["rotate_cw"], spin, zeros)
    rate = torch.log(uniform(1.06, 1.1)).view(n, 1) * t
    scale = uniform(0.32, 0.46).view(n, 1) * torch.exp(
        torch.where(cls["grow"], rate, zeros) - torch.where(cls["shrink"], rate, zeros))
    steady = uniform(0.5, 1.0).view(n, 1).expand(n, frames)
    half = uniform(1, 3.999).floor().view(n, 1)  # frames per on or off phase
    on = torch.remainder(torch.floor((t + (frames - 1) / 2) / half) + uniform(0, 2).floor().view(n, 1), 2) == 0
    blinking = torch.where(on, uniform(0.85, 1.0).view(n, 1), uniform(0.1, 0.3).view(n, 1))
    opacity = torch.where(cls["blink"], blinking, steady)

    # Background: a gradient between two random colours; the object: a colour far enough from it.
    c0 = uniform(0, 1, 3)
    c1 = (c0 + uniform(-0.4, 0.4, 3)).clamp(0, 1)
    direction = uniform(0, 2 * math.pi).view(n, 1, 1)
    ramp = (gx * torch.cos(direction) + gy * torch.sin(direction)) * 0.5 + 0.5  # (n, H, W)
    background = c0.view(n, 1, 1, 3) + (c1 - c0).view(n, 1, 1, 3) * ramp.unsqueeze(-1)
    colour = uniform(0, 1, 3)
    faint = (colour - (c0 + c1) / 2).norm(dim=1, keepdim=True) < 0.5
    colour = torch.where(faint, torch.remainder((c0 + c1) / 2 + 0.5, 1.0), colour)

    # The object's coverage of each pixel of each frame, through the inverse similarity transform per frame.
    shape = torch.randint(len(SHAPES), (n,), generator=generator)
    view = lambda v: v.reshape(-1, frames, 1, 1)  # noqa: E731
    cos_t, sin_t = view(torch.cos(theta)), view(torch.sin(theta))
    dx = (gx.unsqueeze(0) - view(x)) / view(scale)
    dy = (gy.unsqueeze(0) - view(y)) / view(scale)
    lx, ly = cos_t * dx + sin_t * dy, -sin_t * dx + cos_t * dy
    alpha = torch.empty(n, frames, size, size)
    for s, name in enumerate(SHAPES):
        idx = (shape == s).nonzero().squeeze(1)
        if idx.numel():
            alpha[idx] = _coverage(_SDFS[name](lx[idx], ly[idx]) * (view(scale[idx]) * px))
    alpha = (alpha * view(opacity)).unsqueeze(-1)
    video = background.unsqueeze(1) * (1 - alpha) + colour.view(n, 1, 1, 1, 3) * alpha
    # Pixel noise, uniform (cheaper to draw than Gaussian) with a standard deviation of 0.02 to 0.07.
    noise = torch.rand(video.shape, generator=generator).sub_(0.5).mul_(uniform(0.05, 0.17).view(n, 1, 1, 1, 1))
    return video.add_(noise).mul_(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def generate(num: int, seed: int, frames: int = FRAMES, size: int = SIZE) -> tuple[Tensor, Tensor]:
    """uint8 videos (N, T, H, W, 3) and int64 labels (N,), balanced classes; identical for the same arguments.

    Rendered on one thread, as :func:`zoo.vision.shapes.generate` explains (small ops stall on a busy machine).
    """
    if frames < 2 or size < 8:
        raise ConfigError(f"motions needs at least 2 frames of 8x8 pixels, got {frames} frames of {size}x{size}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        labels = (torch.arange(num) % len(CLASSES))[torch.randperm(num, generator=generator)]
        videos = torch.empty(num, frames, size, size, 3, dtype=torch.uint8)
        for start in range(0, num, _CHUNK):
            stop = min(start + _CHUNK, num)
            videos[start:stop] = _render(labels[start:stop], generator, frames, size)
    finally:
        torch.set_num_threads(threads)
    return videos, labels


@lru_cache(maxsize=4)
def cached(split: str, num: int, seed: int, frames: int, size: int) -> tuple[Tensor, Tensor]:
    """Train uses even generator seeds and val odd ones, so no (split, seed) pair shares a stream with another."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset 'motions'. Valid splits: {', '.join(SPLITS)}.")
    split = "val" if split == "test" else split
    return generate(num, 2 * seed + _SPLIT_STREAM[split] + 104_729, frames, size)


def write_folder(root: str | Path, split: str = "val", num: int = NUM_VAL, seed: int = 0, frames: int = FRAMES,
                 size: int = SIZE) -> list[Path]:
    """Encode a split as ``root/<class>/<index>.mp4`` (H.264), the layout ``video_folder`` reads; returns the files."""
    from zoo.vision.video_io import write_video

    videos, labels = cached(split, num, seed, frames, size)
    paths = []
    for index, (video, label) in enumerate(zip(videos, labels.tolist())):
        paths.append(write_video(Path(root) / CLASSES[label] / f"{index:05d}.mp4", video, fps=FPS))
    return paths
