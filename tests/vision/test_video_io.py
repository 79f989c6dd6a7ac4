"""Decoding with PyAV: frames by index (with seeking), resizing, clip sampling, and one clear line for a bad file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.vision.video_files import HEIGHT, WIDTH, frame_index, marked_frames, write_clip
from zoo.vision.video_io import VideoDecodeError, VideoReader, read_video
from zoo.vision.video_sampling import (
    ClipSpec, EvalClips, Frames, TrainClip, clip_indices, read_clips, uniform_starts,
)


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "libx264"), (".avi", "mpeg4")])
def test_frames_read_by_index_are_those_asked_for_in_any_order(tmp_path, suffix, codec):
    path = write_clip(tmp_path / f"clip{suffix}", count=30, fps=10, codec=codec)
    with VideoReader(path) as video:
        assert (video.frames, video.fps, video.width, video.height) == (30, 10.0, WIDTH, HEIGHT)
        frames = video.read([25, 3, 3, 29, 12])  # seeks past the start, repeats and goes back
        assert frames.shape == (5, HEIGHT, WIDTH, 3) and frames.dtype == np.uint8
        assert [frame_index(f) for f in frames] == [25, 3, 3, 29, 12]
        assert [frame_index(f) for f in video.read([40])] == [29]  # past the end: the last frame
        small = video.read([7], short_side=8)
    assert small.shape == (1, 8, 12, 3) and frame_index(small[0]) == 7
    assert [frame_index(f) for f in read_video(path)] == list(range(30))


def test_only_the_frames_a_clip_needs_are_converted(tmp_path, monkeypatch):
    import av

    path = write_clip(tmp_path / "clip.mp4", count=30)
    converted = []
    original = av.VideoFrame.to_ndarray

    def counting(self, *args, **kwargs):
        converted.append(self.pts)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(av.VideoFrame, "to_ndarray", counting)
    with VideoReader(path) as video:
        video.read([20, 22, 24])
    assert len(converted) == 3


def test_clip_indices_follow_stride_or_target_rate():
    assert clip_indices(100, 30.0, ClipSpec(frames=4, stride=2), start=10) == [10, 12, 14, 16]
    # 30 fps sampled at 15: every second frame; at 10: every third, whatever the stride says
    assert clip_indices(100, 30.0, ClipSpec(frames=4, stride=5, fps=10.0), start=0) == [0, 3, 6, 9]
    assert clip_indices(5, 10.0, ClipSpec(frames=4, stride=2), start=0) == [0, 2, 4, 4]  # short: last repeats
    spec = ClipSpec(frames=8, stride=1)
    assert uniform_starts(16, 8.0, spec, 3) == [0.0, 4.0, 8.0]  # first, middle, last possible start
    assert uniform_starts(16, 8.0, spec, 1) == [4.0]
    assert uniform_starts(4, 8.0, spec, 3) == [0.0, 0.0, 0.0]


def test_clips_from_a_file_and_from_memory_agree(tmp_path):
    frames = marked_frames(16)
    path = write_clip(tmp_path / "clip.mp4", count=16, fps=8)
    spec = ClipSpec(frames=4, stride=2, clips=3, size=HEIGHT)
    from_file, _, _ = read_clips(str(path), spec, lambda count, fps: uniform_starts(count, fps, spec, 3))
    in_memory, _, _ = read_clips(Frames(torch.from_numpy(frames), 8.0), spec,
                                 lambda count, fps: uniform_starts(count, fps, spec, 3))
    assert from_file.shape == in_memory.shape == (3, 4, HEIGHT, WIDTH, 3)
    shown = [[frame_index(f) for f in clip] for clip in from_file.numpy()]
    assert shown == [[0, 2, 4, 6], [4, 6, 8, 10], [9, 11, 13, 15]]  # starts 0, 4.5 (rounds to even), 9
    assert shown == [[frame_index(f) for f in clip] for clip in in_memory.numpy()]
    clips, label = EvalClips(spec)((str(path), 3))
    assert clips.shape == (3, 3, 4, HEIGHT, HEIGHT) and label == 3


def test_training_clips_start_at_random_within_the_video(tmp_path):
    spec = ClipSpec(frames=4, stride=1, size=HEIGHT, mean=(0, 0, 0), std=(1, 1, 1))
    video = Frames(torch.from_numpy(marked_frames(20)), 10.0)
    torch.manual_seed(0)
    starts = set()
    for _ in range(30):
        clip, _ = TrainClip(spec)((video, 0))
        assert clip.shape == (3, 4, HEIGHT, HEIGHT)
        shown = (clip[:, :, :, :4].permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8)  # marked columns
        first, last = frame_index(shown[0]), frame_index(shown[3])
        assert last == first + 3 and 0 <= first <= 16
        starts.add(first)
    assert len(starts) > 5


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_corrupt_or_truncated_video_is_one_line_naming_the_file(tmp_path, damage):
    good = write_clip(tmp_path / "good.mp4", count=30).read_bytes()
    bad = tmp_path / "bad clip.mp4"
    bad.write_bytes({"truncated": good[: len(good) // 2], "garbage": b"\x00not a video" * 50, "empty": b""}[damage])
    with pytest.raises(VideoDecodeError) as error:
        TrainClip(ClipSpec(frames=4, size=HEIGHT))((str(bad), 0))
    message = str(error.value)
    assert str(bad) in message and "\n" not in message and "truncated, corrupt or not a video" in message


def test_a_directory_or_a_missing_path_is_not_called_a_corrupt_video(tmp_path):
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="is a directory, not a file"):
        VideoReader(tmp_path)
    with pytest.raises(ZooError, match="does not exist") as error:
        VideoReader(tmp_path / "gone.mp4")
    assert "corrupt" not in str(error.value)
