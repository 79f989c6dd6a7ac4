"""Images per second of the image_folder loader against a plain decode loop over the same files, same workers.

    python scripts/bench_loader.py ROOT [--workers 1] [--image-size 64] [--epochs 2]

ROOT is an image folder (root/<class>/<image>). The plain loop decodes every file in full with PIL (what a loader
without draft decoding does); the zoo loader decodes JPEGs at the smallest scale that covers the model's size and
applies the whole training transform (random resized crop, flip, TrivialAugment, normalisation). The goal is a
ratio >= 0.9: the real preprocessing costs no more than decoding alone. Over several epochs the loader gains from
keeping the decoded, resized images in memory (the first epoch decodes; `--epochs` counts them all).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.vision import datasets, transforms  # noqa: E402


class PlainDecode(Dataset):
    def __init__(self, samples: list[tuple[str, int]]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> int:
        path, label = self.samples[index]
        with Image.open(path) as image:
            np.asarray(image.convert("RGB"))
        return label


class ZooItems(Dataset):
    def __init__(self, split: datasets.ImageSplit):
        self.dataset = split.dataset
        self.transform = transforms.train_transform(split.image_size, split.mean, split.std, 4, True)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> torch.Tensor:
        image, label = self.dataset[index]
        return self.transform(image), label


def rate(dataset: Dataset, workers: int, epochs: int) -> float:
    loader = DataLoader(dataset, batch_size=32, num_workers=workers, shuffle=False, persistent_workers=workers > 0)
    start = time.perf_counter()
    for _ in range(epochs):
        for _ in loader:
            pass
    return epochs * len(dataset) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    split = datasets.image_folder("train", root=args.root, image_size=args.image_size, channels=3, val_fraction=0.01)
    plain = rate(PlainDecode(split.dataset.samples), args.workers, args.epochs)
    zoo = rate(ZooItems(split), args.workers, args.epochs)
    print(f"{len(split.dataset)} images, {args.workers} workers, load {os.getloadavg()[0]:.1f}: plain decode "
          f"{plain:.0f} images/s, zoo loader at {args.image_size} px {zoo:.0f} images/s ({zoo / plain:.2f}x)")


if __name__ == "__main__":
    main()
