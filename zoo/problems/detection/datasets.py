"""Detection sets in the layouts people have: COCO JSON, Pascal VOC XML and YOLO / Ultralytics folders.

Items are ``(image, target)``: image a uint8 tensor (3, H, W), target ``{"boxes": float32 (N, 4) xyxy pixels,
"labels": int64 (N,), "iscrowd": int64 (N,)}`` with labels 1..K (0 is the detectors' background) and ``iscrowd`` 1
for the regions the upstream evaluation ignores (COCO crowds, VOC difficult objects, a domain's own: KITTI DontCare,
VisDrone ignored regions), 0 for objects; every detection dataset carries it, zeros when it has no such region.
Files are decoded on access. A domain's loaders return a :class:`DetectionSplit` (or any object with ``dataset``,
``classes`` and ``image_size``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir
from zoo.problems.detection import formats

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class DetectionSplit:
    """One split and what a model and its checkpoint need to know about it."""

    dataset: Dataset
    classes: list[str]  # without the background
    image_size: tuple[int, int] | None = None  # (H, W) when every image has it


def split_name(split: str, dataset: str) -> str:
    """``train`` or ``val``; ``test`` means ``val`` for sets that publish no labelled test split."""
    aliases = {"train": "train", "val": "val", "test": "val"}
    if split not in aliases:
        raise ConfigError(f"unknown split {split!r} for dataset {dataset!r}; valid: train, val ('test' means val)")
    return aliases[split]


def read_rgb(path: str | Path) -> torch.Tensor:
    """An image file as uint8 (3, H, W)."""
    from zoo.inputs import open_image

    with open_image(path) as image:
        return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()


def target(boxes: Any, labels: Any, crowd: Any = None) -> dict[str, torch.Tensor]:
    labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    crowd = torch.zeros_like(labels) if crowd is None else torch.as_tensor(crowd, dtype=torch.int64).reshape(-1)
    return {"boxes": torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": labels, "iscrowd": crowd}


class DetectionFiles(Dataset):
    """Annotated image files; names outside ``classes`` are dropped, the rest become labels 1..K, ignore regions
    flagged in ``iscrowd``."""

    def __init__(self, records: list[formats.ImageRecord], classes: Sequence[str]):
        index = {name: i + 1 for i, name in enumerate(classes)}
        self.images = [r.image for r in records]
        self.targets = []
        for r in records:
            kept = [(box, index[name], crowd) for box, name, crowd in zip(r.boxes, r.names, r.crowd) if name in index]
            self.targets.append(target([k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept]))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        found = self.targets[index]
        return read_rgb(self.images[index]), {k: v.clone() for k, v in found.items()}


def root_dir(root: str | None, name: str) -> Path:
    return Path(root).expanduser() if root else data_dir() / name


def holdout(count: int, val_fraction: float, name: str) -> list[bool]:
    """A fixed, evenly spread validation subset of a set that has no published split: every k-th item."""
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1 for {name}, got {val_fraction}")
    every = max(round(1 / val_fraction), 2)
    return [i % every == every - 1 for i in range(count)]


def coco(
    split: str = "train", root: str | None = None, classes: Sequence[str] | None = None,
    train_annotations: str = "annotations/instances_train2017.json", val_annotations: str =
    "annotations/instances_val2017.json", train_images: str = "train2017", val_images: str = "val2017",
    keep_empty: bool = False,
) -> DetectionSplit:
    """Any COCO-format detection set; ``classes`` keeps those categories (null: every category, by id).

    Crowd annotations are kept as ignore boxes; ``keep_empty`` keeps the images that have no other box.
    """
    split = split_name(split, "coco")
    folder = root_dir(root, "coco")
    annotations = folder / (train_annotations if split == "train" else val_annotations)
    images = folder / (train_images if split == "train" else val_images)
    if not annotations.is_file() or not images.is_dir():
        raise DatasetNotFoundError(
            f"COCO files not found: expected {annotations} and the images in {images}. For COCO 2017 download "
            "annotations_trainval2017.zip, train2017.zip and val2017.zip from https://cocodataset.org/#download and "
            f"unzip them into {folder}; for another COCO-format set, set data.args.root and "
            f"data.args.{split}_annotations / data.args.{split}_images."
        )
    records, names = formats.read_coco(annotations, images, tuple(classes) if classes else None)
    if not keep_empty:
        records = [r for r in records if not all(r.crowd)]
    return DetectionSplit(DetectionFiles(records, names), names)


def voc(
    split: str = "train", root: str | None = None, year: str = "2012", classes: Sequence[str] | None = None,
    keep_difficult: bool = False, val_fraction: float = 0.2,
) -> DetectionSplit:
    """Pascal VOC layout (Annotations/*.xml, JPEGImages/, ImageSets/Main/{train,val}.txt); any VOC-XML set works.

    ``root`` may be VOCdevkit's parent, VOCdevkit, or the folder holding Annotations/; without
    ImageSets/Main/<split>.txt every 5th annotation is the validation split. ``classes`` null keeps every name
    (sorted). ``difficult`` objects are ignore boxes, or ordinary objects with ``keep_difficult``; images without an
    ordinary object of ``classes`` are left out.
    """
    split = split_name(split, "voc")
    folder = root_dir(root, "voc")
    base = next((c for c in (folder / "VOCdevkit" / f"VOC{year}", folder / f"VOC{year}", folder)
                 if (c / "Annotations").is_dir()), None)
    if base is None:
        raise DatasetNotFoundError(
            f"Pascal VOC files not found: expected {folder}/VOCdevkit/VOC{year}/Annotations (or Annotations/ directly "
            f"in {folder}). Download VOCtrainval from http://host.robots.ox.ac.uk/pascal/VOC/ and extract it into "
            f"{folder}, or set data.args.root to a folder with Annotations/ and JPEGImages/."
        )
    listing = base / "ImageSets" / "Main" / f"{split}.txt"
    if listing.is_file():
        ids = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
        files = [base / "Annotations" / f"{image_id}.xml" for image_id in ids]
    else:
        every = sorted((base / "Annotations").glob("*.xml"))
        files = [f for f, held in zip(every, holdout(len(every), val_fraction, "voc")) if held == (split == "val")]
    records = []
    for file in files:
        if not file.is_file():
            raise DatasetNotFoundError(f"{listing} lists {file.stem}, but {file} is missing")
        record = formats.read_voc_xml(file, keep_difficult)
        record.image = base / "JPEGImages" / record.image.name
        records.append(record)
    names = list(classes) if classes else sorted({n for r in records for n, c in zip(r.names, r.crowd) if not c})
    records = [r for r in records if any(n in names and not c for n, c in zip(r.names, r.crowd))]
    return DetectionSplit(DetectionFiles(records, names), names)


def yolo(
    split: str = "train", root: str | None = None, data_yaml: str = "data.yaml", classes: Sequence[str] | None = None,
) -> DetectionSplit:
    """The YOLO / Ultralytics layout: ``root/data.yaml`` naming the classes and each split's images (``images/train``
    and ``images/val`` by convention), and ``labels/<split>/<image>.txt`` with ``class cx cy w h`` normalised lines.

    Without a data.yaml, ``root/images/{train,val}`` are the splits and ``classes`` must name the class ids in order.
    ``val`` falls back to ``valid`` or ``test`` when the yaml has no ``val``. An image without a label file has no
    objects (Ultralytics' background images).
    """
    split = split_name(split, "yolo")
    folder = root_dir(root, "yolo")
    yaml_path = folder / data_yaml
    if yaml_path.is_file():
        layout = formats.read_yolo_yaml(yaml_path)
    elif (folder / "images").is_dir() and classes:
        layout = formats.YoloLayout(folder, {s: [folder / "images" / s] for s in ("train", "val")}, list(classes))
    else:
        raise DatasetNotFoundError(
            f"YOLO files not found: expected {yaml_path} (names and splits) with images/<split>/ and "
            f"labels/<split>/ beside it, or {folder}/images/ with data.args.classes naming the class ids in order; "
            "set data.args.root to the folder holding data.yaml."
        )
    names = list(classes) if classes else layout.names
    if len(names) != len(layout.names):
        raise ConfigError(f"data.args.classes names {len(names)} classes, {yaml_path} names {len(layout.names)}")
    key = next((k for k in formats.YOLO_SPLIT_KEYS[split] if k in layout.splits), None)
    if key is None:
        raise DatasetNotFoundError(f"{yaml_path} names no {split!r} split (keys: {', '.join(layout.splits)})")
    records = []
    for image in formats.yolo_images(layout.splits[key], IMAGE_SUFFIXES):
        with Image.open(image) as opened:
            width, height = opened.size
        record = formats.read_yolo_labels(formats.yolo_label_path(image), names, width, height)
        record.image = image
        records.append(record)
    if not records:
        raise DatasetNotFoundError(f"no images for split {split!r} in {', '.join(map(str, layout.splits[key]))}")
    return DetectionSplit(DetectionFiles(records, names), names)
