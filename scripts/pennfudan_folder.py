"""Cut the real Penn-Fudan photos into a two-class image folder (pedestrian / street), to measure ``image_folder``
on real photos of the size people have.

    python scripts/pennfudan_folder.py ../shared/data/driving/PennFudanPed /tmp/pedestrians
    python -m zoo.train --task vision --dataset image_folder data.args.root=/tmp/pedestrians

Writes OUT/pedestrian/<image>_<n>.jpg (each annotated pedestrian's box, widened by 10%) and OUT/street/<image>_<n>.jpg
(a crop of the same photo of about the same size that overlaps no pedestrian box by more than 10% of its area), as
JPEG at quality 90, up to ``--per-class`` of each, seeded. The crops keep their own sizes and aspect ratios.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.driving.formats import read_penn_fudan  # noqa: E402

Box = tuple[float, float, float, float]


def overlap_share(box: Box, others: list[Box]) -> float:
    """The largest share of ``box``'s area covered by one of ``others``."""
    x0, y0, x1, y1 = box
    area = max((x1 - x0) * (y1 - y0), 1.0)
    best = 0.0
    for a0, b0, a1, b1 in others:
        w, h = min(x1, a1) - max(x0, a0), min(y1, b1) - max(y0, b0)
        if w > 0 and h > 0:
            best = max(best, w * h / area)
    return best


def street_crop(size: tuple[int, int], like: Box, people: list[Box], rng: random.Random) -> Box | None:
    """A crop of about ``like``'s size, away from every pedestrian, or None after 50 tries."""
    width, height = size
    w = min(width, round((like[2] - like[0]) * rng.uniform(0.8, 1.25)))
    h = min(height, round((like[3] - like[1]) * rng.uniform(0.8, 1.25)))
    for _ in range(50):
        x, y = rng.randint(0, width - w), rng.randint(0, height - h)
        box = (float(x), float(y), float(x + w), float(y + h))
        if overlap_share(box, people) <= 0.1:
            return box
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="PennFudanPed/ (PNGImages/, Annotation/)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    crops: dict[str, list[tuple[Path, Box]]] = {"pedestrian": [], "street": []}
    for annotation in sorted((args.root / "Annotation").glob("*.txt")):
        image_path = args.root / "PNGImages" / f"{annotation.stem}.png"
        people = read_penn_fudan(annotation)
        with Image.open(image_path) as image:
            size = image.size
        for x0, y0, x1, y1 in people:
            pad_x, pad_y = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
            crops["pedestrian"].append((image_path, (max(0, x0 - pad_x), max(0, y0 - pad_y), min(size[0], x1 + pad_x),
                                                     min(size[1], y1 + pad_y))))
            street = street_crop(size, (x0, y0, x1, y1), people, rng)
            if street is not None:
                crops["street"].append((image_path, street))
    for label, items in crops.items():
        rng.shuffle(items)
        folder = args.out / label
        folder.mkdir(parents=True, exist_ok=True)
        for n, (image_path, box) in enumerate(items[: args.per_class]):
            with Image.open(image_path) as image:
                image.convert("RGB").crop(tuple(round(v) for v in box)).save(folder / f"{image_path.stem}_{n}.jpg",
                                                                            quality=90)
        print(f"{label}: {min(len(items), args.per_class)} crops (of {len(items)}) in {folder}")


if __name__ == "__main__":
    main()
