"""Tiny real video files for the video tests, encoded by PyAV: each frame shows its own index."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.vision.video_io import write_video

WIDTH, HEIGHT = 24, 16


def marked_frames(count: int, shade: int = 0) -> np.ndarray:
    """Frames whose left half is grey level ``8 * index`` (readable back after lossy coding) and right half
    ``shade``."""
    frames = np.zeros((count, HEIGHT, WIDTH, 3), np.uint8)
    for index in range(count):
        frames[index, :, : WIDTH // 2] = min(8 * index, 255)
        frames[index, :, WIDTH // 2 :] = shade
    return frames


def frame_index(frame: np.ndarray) -> int:
    """The index a frame of :func:`marked_frames` shows (after decoding, and resizing)."""
    return int(round(float(frame[:, : frame.shape[1] // 2 - 1].mean()) / 8))


def write_clip(path: Path, count: int = 12, fps: float = 10.0, shade: int = 0, codec: str = "libx264") -> Path:
    return write_video(path, marked_frames(count, shade), fps=fps, codec=codec)
