"""Which frames a clip takes, and the per-item transforms that decode them into model input.

A clip is ``frames`` frames, ``step`` source frames apart: ``step`` is ``stride``, or the video's own rate over the
target ``fps`` when one is set (so a 30 fps and a 25 fps video give clips of the same duration). It covers
``span = (frames - 1) * step + 1`` source frames.

- Training: one clip per video and epoch, its start drawn uniformly from ``[0, n - span]`` (torch's RNG, which the
  trainer seeds per item and epoch).
- Evaluation and prediction: ``clips`` starts spread evenly from the first frame to the last possible start (one
  clip: the middle one); the video's prediction is the mean of the clips' softmax probabilities, as torchvision's
  video references and the Kinetics and UCF101 papers report video-level accuracy.

A video shorter than a clip repeats its last frame. Frames of a file are read in one pass (:mod:`video_io` seeks to
the first one needed); frames of a video held in memory (the embedded set) are indexed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import ConfigError


@dataclass(frozen=True)
class ClipSpec:
    """How clips are cut and shaped; saved in a checkpoint's info, so prediction cuts them as training did."""

    frames: int = 8
    stride: int = 1
    fps: float = 0.0  # target rate; 0 keeps ``stride``
    clips: int = 3  # uniform clips averaged per video in evaluation
    size: int = 32  # side of the square crop the model sees
    resize: int = 0  # frames' short side before cropping; 0: ``size``
    hflip: bool = False
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.25, 0.25, 0.25)

    def __post_init__(self) -> None:
        if self.frames < 1 or self.stride < 1 or self.clips < 1 or self.size < 1 or self.fps < 0 or self.resize < 0:
            raise ConfigError(
                "task_args.frames, stride, eval_clips and size must be at least 1, and fps and resize at least 0; got "
                f"frames={self.frames} stride={self.stride} eval_clips={self.clips} size={self.size} "
                f"fps={self.fps} resize={self.resize}")

    def step(self, video_fps: float) -> float:
        return video_fps / self.fps if self.fps > 0 else float(self.stride)

    def span(self, video_fps: float) -> float:
        return (self.frames - 1) * self.step(video_fps) + 1


def clip_indices(count: int, video_fps: float, spec: ClipSpec, start: float) -> list[int]:
    """Source frame indices of the clip starting at frame ``start`` of a ``count``-frame video."""
    step = spec.step(video_fps)
    return [min(int(round(start + i * step)), count - 1) for i in range(spec.frames)]


def uniform_starts(count: int, video_fps: float, spec: ClipSpec, clips: int) -> list[float]:
    """Starts of ``clips`` clips spread evenly over the video (the middle one for a single clip)."""
    room = max(count - spec.span(video_fps), 0.0)
    if clips == 1:
        return [room / 2]
    return [room * k / (clips - 1) for k in range(clips)]


def random_start(count: int, video_fps: float, spec: ClipSpec) -> float:
    room = max(count - spec.span(video_fps), 0.0)
    return float(torch.rand(())) * room


class Frames(NamedTuple):
    """A video held in memory: uint8 frames ``(n, H, W, 3)`` and their rate."""

    frames: Tensor
    fps: float


Choose = Callable[[int, float], Sequence[float]]  # (frame count, fps) -> clip starts


def read_clips(source: str | Frames, spec: ClipSpec, choose: Choose) -> tuple[Tensor, float, int]:
    """uint8 frames ``(clips, T, H, W, 3)`` of a video (a file path, or :class:`Frames`) for the starts ``choose``
    picks from its length and rate, with that rate and length; frames are resized to ``spec.resize`` (or ``size``).
    A file is opened once and only the frames needed are decoded."""
    short_side = spec.resize or spec.size
    if isinstance(source, Frames):
        count, fps = source.frames.shape[0], source.fps
        starts = choose(count, fps)
        index = torch.tensor([clip_indices(count, fps, spec, s) for s in starts])
        frames = source.frames[index.flatten()]
        if min(frames.shape[1:3]) != short_side:
            frames = _resize(frames, short_side)
        return frames.view(len(starts), spec.frames, *frames.shape[1:]), fps, count
    from zoo.vision.video_io import VideoReader

    with VideoReader(source) as video:
        count, fps = video.frames, video.fps
        starts = choose(count, fps)
        indices = [i for s in starts for i in clip_indices(count, fps, spec, s)]
        frames = video.read(indices, short_side=short_side)
    return torch.from_numpy(frames).view(len(starts), spec.frames, *frames.shape[1:]), fps, count


def _resize(frames: Tensor, short_side: int) -> Tensor:
    height, width = frames.shape[1:3]
    scale = short_side / min(height, width)
    size = (max(round(height * scale), 1), max(round(width * scale), 1))
    resized = F.interpolate(frames.permute(0, 3, 1, 2).float(), size=size, mode="bilinear", antialias=True,
                            align_corners=False)
    return resized.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def to_input(frames: Tensor, spec: ClipSpec, train: bool) -> Tensor:
    """uint8 ``(clips, T, H, W, 3)`` -> normalised float ``(clips, 3, T, size, size)``: a random crop (and flip,
    when enabled) in training, the centre crop otherwise."""
    clips = frames.permute(0, 4, 1, 2, 3).float().div_(255)  # (clips, 3, T, H, W)
    height, width = clips.shape[-2:]
    size = spec.size
    if height < size or width < size:
        raise ConfigError(f"frames of {height}x{width} are smaller than task_args.size={size}; lower it or set "
                          f"task_args.resize to at least {size}")
    if train:
        top = int(torch.randint(height - size + 1, ()))
        left = int(torch.randint(width - size + 1, ()))
    else:
        top, left = (height - size) // 2, (width - size) // 2
    clips = clips[..., top : top + size, left : left + size]
    if train and spec.hflip and bool(torch.rand(()) < 0.5):
        clips = clips.flip(-1)
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1, 1)
    return clips.sub_(mean).div_(std).contiguous()


def to_frames(clip: Tensor, spec: ClipSpec) -> np.ndarray:
    """A normalised clip ``(3, T, H, W)`` back to uint8 frames ``(T, H, W, 3)`` (for figures)."""
    mean = torch.tensor(spec.mean).view(-1, 1, 1, 1)
    std = torch.tensor(spec.std).view(-1, 1, 1, 1)
    pixels = (clip.float().cpu() * std + mean).clamp(0, 1).mul(255).round().to(torch.uint8)
    return pixels.permute(1, 2, 3, 0).numpy()


class TrainClip:
    """``(video, label) -> (clip (3, T, S, S), label)``: one random clip (a class, so workers can pickle it)."""

    def __init__(self, spec: ClipSpec):
        self.spec = spec

    def __call__(self, item: tuple[Any, int]) -> tuple[Tensor, int]:
        source, label = item
        spec = self.spec
        frames, _, _ = read_clips(source, spec, lambda count, fps: [random_start(count, fps, spec)])
        return to_input(frames, spec, train=True)[0], label


class EvalClips:
    """``(video, label) -> (clips (K, 3, T, S, S), label)``: ``spec.clips`` uniform clips, centre-cropped."""

    def __init__(self, spec: ClipSpec):
        self.spec = spec

    def __call__(self, item: tuple[Any, int]) -> tuple[Tensor, int]:
        source, label = item
        return to_input(self.frames(source)[0], self.spec, train=False), label

    def frames(self, source: Any, clips: int = 0) -> tuple[Tensor, list[tuple[float, float]]]:
        """The uint8 frames of ``clips`` (default ``spec.clips``) uniform clips, and each one's (start, end) in
        seconds."""
        spec, clips = self.spec, clips or self.spec.clips
        chosen: list[float] = []

        def choose(count: int, fps: float) -> list[float]:
            chosen.extend(uniform_starts(count, fps, spec, clips))
            return chosen

        frames, fps, count = read_clips(source, spec, choose)
        span = spec.span(fps)
        return frames, [(round(s / fps, 3), round(min(s + span, count) / fps, 3)) for s in chosen]
