"""Video data path speed: zoo's clip loader against PyAV decoding the same clips directly, and training clips/s.

    python scripts/bench_video.py                    # 160 embedded videos written as MP4, 8-frame clips
    python scripts/bench_video.py --videos 400 --steps 40

1. The embedded motions' validation videos are encoded as H.264 MP4 files (``video_clips.write_folder``).
2. Decoding: for each file, the frames of its evaluation clips (3 uniform 8-frame clips) are decoded by zoo's loader
   (``video_folder`` + the task's eval transform: open, seek, decode the needed frames, crop, normalise) and by a
   plain PyAV loop that opens the file and decodes every frame up to the last one needed, converting those wanted.
   Printed: decoded frames per second of each and their ratio (goal: zoo >= 0.9x PyAV).
3. Training: clips per second of ``small_r2plus1d`` train steps on clips read from those files, on one thread.
The load average is printed: on a shared machine every figure is pessimistic.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pyav_frames(path: str, wanted: set[int]) -> int:
    """Decode ``path`` from the start with PyAV, converting the frames in ``wanted``; returns how many."""
    import av

    got = 0
    with av.open(path) as container:
        last = max(wanted)
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frame.to_ndarray(format="rgb24")
                got += 1
            if index >= last:
                break
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=160)
    parser.add_argument("--steps", type=int, default=20, help="training steps of 16 clips")
    parser.add_argument("--rounds", type=int, default=3, help="decoding rounds, alternating zoo and PyAV")
    args = parser.parse_args()
    import torch

    from zoo.vision import video_clips, video_models
    from zoo.vision.video_datasets import video_folder
    from zoo.vision.video_sampling import ClipSpec, EvalClips, TrainClip, clip_indices, uniform_starts

    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        paths = video_clips.write_folder(folder, num=args.videos)
        split = video_folder("val", root=folder, val_fraction=0.99)
        files = [str(p) for p in paths]
        spec = ClipSpec(frames=8, stride=1, clips=3, size=32, mean=video_clips.MEAN, std=video_clips.STD)
        wanted = {i for s in uniform_starts(video_clips.FRAMES, video_clips.FPS, spec, 3)
                  for i in clip_indices(video_clips.FRAMES, video_clips.FPS, spec, s)}
        evaluate = EvalClips(spec)
        zoo_s = pyav_s = 0.0
        for _ in range(args.rounds):
            start = time.perf_counter()
            for index in range(len(split.dataset)):
                evaluate(split.dataset[index])
            zoo_s += time.perf_counter() - start
            start = time.perf_counter()
            for path in files:
                pyav_frames(path, wanted)
            pyav_s += time.perf_counter() - start
        zoo_fps = args.rounds * len(split.dataset) * len(wanted) / zoo_s  # the same distinct frames decoded
        pyav_fps = args.rounds * len(files) * len(wanted) / pyav_s
        print(f"decoded frames/s ({len(wanted)} distinct frames of each video, in {spec.clips} clips of {spec.frames}): "
              f"zoo {zoo_fps:,.0f} (clips also cropped and normalised), PyAV {pyav_fps:,.0f}; "
              f"ratio {zoo_fps / pyav_fps:.2f}x")

        model = video_models.small_r2plus1d(len(split.classes), width=24)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        train = TrainClip(spec)
        clips = 0
        start = time.perf_counter()
        for step in range(args.steps):
            items = [train(split.dataset[(step * 16 + i) % len(split.dataset)]) for i in range(16)]
            batch = torch.stack([clip for clip, _ in items])
            labels = torch.tensor([label for _, label in items])
            loss = torch.nn.functional.cross_entropy(model(batch), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            clips += len(items)
        print(f"training: {clips / (time.perf_counter() - start):.1f} clips/s (small_r2plus1d width 24, decoding "
              f"included, 1 thread); load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
