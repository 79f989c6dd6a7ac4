"""Reading and writing video files: the one module that knows the decoder (PyAV).

PyAV's wheels bundle FFmpeg, so H.264, MPEG-4 and the other common codecs decode on the CPU with no system package
(torchvision 0.29 dropped its own reader; its replacement, torchcodec, needs a system FFmpeg). Everything else in
zoo calls :class:`VideoReader` and :func:`write_video`, so another decoder (torchcodec) can replace this file alone.

Only the frames asked for are decoded: :meth:`VideoReader.read` seeks to the key frame at or before the first wanted
frame and decodes forward to the last, converting (and resizing, in FFmpeg's scaler) only the wanted ones.

    with VideoReader("clip.mp4") as video:
        frames = video.read([0, 2, 4, 6], short_side=128)   # uint8 array (4, 128, W, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg")


class VideoDecodeError(ZooError, ValueError):
    """A video file that cannot be opened or decoded; the message names the file."""


def _av() -> Any:
    import av

    av.logging.set_level(None)  # FFmpeg's own warnings would print for every clip; failures raise instead
    return av


def _decode_error(path: str | Path, error: Exception | str) -> VideoDecodeError:
    text = getattr(error, "strerror", None) or str(error)
    reason = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return VideoDecodeError(
        f"cannot decode video {path}: {reason}; the file is truncated, corrupt or not a video "
        "(re-download or re-encode it, or remove it from the dataset)"
    )


class VideoReader:
    """An open video file: its frame count, rate and size, and :meth:`read` for frames by index."""

    def __init__(self, path: str | Path):
        from zoo.inputs import input_file

        self.path = str(input_file(path, "video"))  # a directory or a missing path is not a corrupt video
        av = _av()
        try:
            self.container = av.open(self.path)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
            raise _decode_error(path, error) from None
        if not self.container.streams.video:
            self.container.close()
            raise _decode_error(path, "the file holds no video stream")
        self.stream = self.container.streams.video[0]
        rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        self.fps = float(rate) if rate else 25.0
        self.time_base = float(self.stream.time_base) if self.stream.time_base else 1.0 / self.fps
        self.start_pts = self.stream.start_time or 0
        self.width, self.height = self.stream.codec_context.width, self.stream.codec_context.height
        self.frames = self._frame_count()
        if self.frames < 1 or not self.width:
            self.container.close()
            raise _decode_error(path, "the video stream holds no frames")

    def _frame_count(self) -> int:
        """The container's frame count, else its duration times the rate (an estimate; see :meth:`read`)."""
        if self.stream.frames:
            return int(self.stream.frames)
        if self.stream.duration:
            return max(int(round(self.stream.duration * self.time_base * self.fps)), 1)
        if self.container.duration:
            return max(int(round(self.container.duration / 1_000_000 * self.fps)), 1)
        return 0

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    def _index(self, frame: Any) -> int:
        return int(round((frame.pts - self.start_pts) * self.time_base * self.fps))

    def read(self, indices: Sequence[int], short_side: int = 0) -> np.ndarray:
        """Frames at ``indices`` (any order, repeats allowed) as uint8 RGB ``(len(indices), H, W, 3)``.

        ``short_side`` resizes each frame so that its shorter side has that many pixels (aspect kept), in FFmpeg's
        scaler. Indices past the last frame decoded (a frame count the container overstated) get the last frame.
        """
        if not len(indices):
            raise ValueError("read needs at least one frame index")
        wanted = sorted(set(int(i) for i in indices))
        if wanted[0] < 0:
            raise ValueError(f"frame indices must be at least 0, got {wanted[0]}")
        width, height = self._output_size(short_side)
        av = _av()
        try:
            found = self._decode(wanted, width, height, seek=wanted[0] > 0)
            if found is None:  # the seek landed past the first wanted frame (or frames carry no times): from the start
                found = self._decode(wanted, width, height, seek=False)
        except av.FFmpegError as error:
            raise _decode_error(self.path, error) from None
        if not found:
            raise _decode_error(self.path, "no frame could be decoded")
        last = found[max(found)]
        return np.stack([found.get(i, last) for i in indices])

    def _decode(self, wanted: list[int], width: int, height: int, seek: bool) -> dict[int, np.ndarray] | None:
        """Wanted index -> frame; indices past the end map to the last frame. None: the seek overshot."""
        first, last, keep = wanted[0], wanted[-1], set(wanted)
        target = self.start_pts + int(first / self.fps / self.time_base) if seek else self.start_pts
        self.container.seek(target, backward=True, any_frame=False, stream=self.stream)
        found: dict[int, np.ndarray] = {}
        counted, previous, index = -1, None, -1
        for frame in self.container.decode(self.stream):
            if frame.pts is None:
                if seek:
                    return None
                counted += 1
                index = counted
            else:
                index = self._index(frame)
            if seek and previous is None and index > first:
                return None
            previous = frame
            if index in keep and index not in found:
                found[index] = frame.to_ndarray(format="rgb24", width=width, height=height)
            if index >= last:
                break
        if previous is not None and index < last:  # the video ended first: later indices get its last frame
            tail = found.get(index)
            if tail is None:
                tail = previous.to_ndarray(format="rgb24", width=width, height=height)
            found.update({i: tail for i in wanted if i > index})
        return found

    def _output_size(self, short_side: int) -> tuple[int, int]:
        if short_side <= 0 or min(self.width, self.height) == short_side:
            return self.width, self.height
        scale = short_side / min(self.width, self.height)
        return max(int(round(self.width * scale)), 1), max(int(round(self.height * scale)), 1)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_video(path: str | Path, indices: Sequence[int] | None = None, short_side: int = 0) -> np.ndarray:
    """Frames of a video file (all of them when ``indices`` is None) as uint8 RGB ``(T, H, W, 3)``."""
    with VideoReader(path) as video:
        return video.read(range(video.frames) if indices is None else indices, short_side)


def write_video(path: str | Path, frames: Any, fps: float = 25.0, codec: str = "libx264", quality: int = 18) -> Path:
    """Encode uint8 RGB frames ``(T, H, W, 3)`` (array or tensor) as a video file (H.264 in MP4 by default).

    Odd sides are cropped by one pixel (4:2:0 colour needs even sides); ``quality`` is x264's CRF (lower: better).
    """
    av = _av()
    array = np.asarray(frames.detach().cpu().numpy() if hasattr(frames, "detach") else frames, dtype=np.uint8)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"write_video needs frames (T, H, W, 3), got shape {array.shape}")
    array = array[:, : array.shape[1] // 2 * 2, : array.shape[2] // 2 * 2]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = _rate(fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = array.shape[2], array.shape[1], "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(quality), "preset": "veryfast"}
        else:  # MPEG-4 part 2 and others: a bit rate high enough to be near lossless at small sizes
            stream.bit_rate = 200 * array.shape[1] * array.shape[2] * 8
        for image in array:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _rate(fps: float) -> Any:
    from fractions import Fraction

    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)
