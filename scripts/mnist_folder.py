"""Lay out an MNIST-format idx set (e.g. the real MNIST test set) as an image folder, to measure ``image_folder``.

    python scripts/mnist_folder.py /work/shared/data/vision/mnist/raw /tmp/mnist_folder
    python -m zoo.train --task vision --dataset image_folder data.args.root=/tmp/mnist_folder

Writes OUT/<digit>/<index>.png (grey PNGs, as digit datasets are shared as folders). The t10k files are read by
default; ``--prefix train`` reads the training files instead.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
from PIL import Image


def read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="folder of the idx files (plain or .gz)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--prefix", default="t10k", help="t10k (test files) or train")
    args = parser.parse_args()
    find = lambda kind: next(args.raw.glob(f"{args.prefix}-{kind}-idx*-ubyte*"))  # noqa: E731
    images, labels = read_idx(find("images")), read_idx(find("labels"))
    for index, (image, label) in enumerate(zip(images, labels)):
        path = args.out / str(int(label)) / f"{index:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, "L").save(path)
    print(f"{len(images)} images in {args.out}")


if __name__ == "__main__":
    main()
