"""Driving datasets: the embedded road scenes, KITTI, COCO-format, Pascal VOC and Penn-Fudan boxes, Cityscapes masks.

Detection items are ``(image, target)``: image a uint8 tensor (3, H, W), target ``{"boxes": float32 (N, 4) xyxy
pixels, "labels": int64 (N,), "iscrowd": int64 (N,)}`` with labels 1..K (0 is the detectors' background) and
``iscrowd`` 1 for the regions the upstream evaluation ignores (KITTI DontCare, COCO crowds, VOC difficult objects),
0 for objects; every detection dataset carries it, zeros when it has no such region. Segmentation items are
``(image, mask)``: mask int64 (H, W) of class indices, 255 where unlabelled. Files are decoded on access.
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

from zoo.driving import formats, scenes
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir

SPLITS = ("train", "val")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class DrivingSplit:
    """One split and what a model and its checkpoint need to know about it."""

    dataset: Dataset
    classes: list[str]  # without the background
    problem: str  # "detection" or "segmentation"
    image_size: tuple[int, int] | None = None  # (H, W) when every image has it (segmentation resizes to it)


def _split(split: str, dataset: str) -> str:
    aliases = {"train": "train", "val": "val", "test": "val"}
    if split not in aliases:
        raise ConfigError(f"unknown split {split!r} for dataset {dataset!r}; valid: train, val ('test' means val)")
    return aliases[split]


def read_rgb(path: str | Path) -> torch.Tensor:
    """An image file as uint8 (3, H, W)."""
    with Image.open(path) as image:
        return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()


def _target(boxes: Any, labels: Any, crowd: Any = None) -> dict[str, torch.Tensor]:
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
            self.targets.append(_target([k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept]))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        target = self.targets[index]
        return read_rgb(self.images[index]), {k: v.clone() for k, v in target.items()}


class SceneDetection(Dataset):
    def __init__(self, items: scenes.SceneStore):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        scene = self.items[index]
        return torch.from_numpy(scene.image).permute(2, 0, 1).contiguous(), _target(scene.boxes, scene.labels)


class SceneSegmentation(SceneDetection):
    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        scene = self.items[index]
        return torch.from_numpy(scene.image).permute(2, 0, 1).contiguous(), torch.from_numpy(scene.mask).long()


def road_scenes(
    split: str = "train", num_train: int = 1200, num_val: int = 200, height: int = 128, width: int = 192,
    max_objects: int = 10, seed: int = 0, problem: str = "detection",
) -> DrivingSplit:
    """Embedded: generated road scenes with boxes (detection) or pixel labels (segmentation); see scenes.py."""
    split = _split(split, "road_scenes")
    if problem not in ("detection", "segmentation"):
        raise ConfigError(f"road_scenes serves detection or segmentation, not {problem!r}")
    if min(height, width) < 64:
        raise ConfigError(f"road_scenes needs images of at least 64x64 pixels, got {height}x{width}")
    items = scenes.generate(split, num_train if split == "train" else num_val, seed, height, width, max_objects)
    if problem == "segmentation":
        return DrivingSplit(SceneSegmentation(items), list(scenes.SEGMENTATION_CLASSES), problem, (height, width))
    return DrivingSplit(SceneDetection(items), list(scenes.DETECTION_CLASSES), problem, (height, width))


def _root(root: str | None, name: str) -> Path:
    return Path(root).expanduser() if root else data_dir() / name


def _holdout(count: int, val_fraction: float, name: str) -> list[bool]:
    """A fixed, evenly spread validation subset of a set that has no published split: every k-th item."""
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1 for {name}, got {val_fraction}")
    every = max(round(1 / val_fraction), 2)
    return [i % every == every - 1 for i in range(count)]


def kitti(
    split: str = "train", root: str | None = None, classes: Sequence[str] | None = None, val_fraction: float = 0.2,
) -> DrivingSplit:
    """KITTI 2D objects: ``root/training/{image_2/*.png,label_2/*.txt}``; val is every 5th frame of training.

    A DontCare region becomes one ignore box (``iscrowd`` 1) per class: KITTI's evaluation ignores detections of
    every class that fall inside it, and a COCO crowd box ignores those of its own class.
    """
    split = _split(split, "kitti")
    folder = _root(root, "kitti")
    training = folder / "training" if (folder / "training").is_dir() else folder
    images_dir, labels_dir = training / "image_2", training / "label_2"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise DatasetNotFoundError(
            f"KITTI object files not found: expected {images_dir} and {labels_dir}. Download 'left color images of "
            "object data set' (data_object_image_2.zip) and 'training labels of object data set' "
            "(data_object_label_2.zip) from https://www.cvlibs.net/datasets/kitti/eval_object.php?obj_benchmark=2d, "
            f"unzip both into {folder}, or set data.args.root to the folder holding training/."
        )
    names = list(classes) if classes else list(formats.KITTI_CLASSES)
    unknown = [c for c in names if c not in formats.KITTI_CLASSES]
    if unknown:
        valid = ", ".join(formats.KITTI_CLASSES)
        raise ConfigError(f"data.args.classes {unknown} are not KITTI classes; valid: {valid}")
    labels = sorted(labels_dir.glob("*.txt"))
    records = []
    for label, held_out in zip(labels, _holdout(len(labels), val_fraction, "kitti")):
        if held_out != (split == "val"):
            continue
        image = images_dir / f"{label.stem}.png"
        if not image.is_file():
            raise DatasetNotFoundError(f"{label} has no image: expected {image}")
        record = formats.ImageRecord(image)
        for obj in formats.read_kitti_label(label):
            if obj.type == formats.KITTI_IGNORED:
                for name in names:
                    record.add(obj.bbox, name, crowd=True)
            else:
                record.add(obj.bbox, obj.type)
        records.append(record)
    if not records:
        raise DatasetNotFoundError(f"no KITTI frames for split {split!r} in {labels_dir} (found {len(labels)} labels)")
    return DrivingSplit(DetectionFiles(records, names), names, "detection")


def coco(
    split: str = "train", root: str | None = None, classes: Sequence[str] | None = formats.COCO_ROAD_USERS,
    train_annotations: str = "annotations/instances_train2017.json", val_annotations: str =
    "annotations/instances_val2017.json", train_images: str = "train2017", val_images: str = "val2017",
    keep_empty: bool = False,
) -> DrivingSplit:
    """Any COCO-format detection set; ``classes`` keeps road users by default (null keeps every category).

    Crowd annotations are kept as ignore boxes; ``keep_empty`` keeps the images that have no other box.
    """
    split = _split(split, "coco")
    folder = _root(root, "coco")
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
    return DrivingSplit(DetectionFiles(records, names), names, "detection")


def voc(
    split: str = "train", root: str | None = None, year: str = "2012", classes: Sequence[str] | None =
    formats.VOC_ROAD_USERS, keep_difficult: bool = False, val_fraction: float = 0.2,
) -> DrivingSplit:
    """Pascal VOC layout (Annotations/*.xml, JPEGImages/, ImageSets/Main/{train,val}.txt); any VOC-XML set works.

    ``root`` may be VOCdevkit's parent, VOCdevkit, or the folder holding Annotations/; without
    ImageSets/Main/<split>.txt every 5th annotation is the validation split. ``classes`` null keeps every name.
    ``difficult`` objects are ignore boxes, or ordinary objects with ``keep_difficult``; images without an ordinary
    object of ``classes`` are left out.
    """
    split = _split(split, "voc")
    folder = _root(root, "voc")
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
        files = [f for f, held in zip(every, _holdout(len(every), val_fraction, "voc")) if held == (split == "val")]
    records = []
    for file in files:
        if not file.is_file():
            raise DatasetNotFoundError(f"{listing} lists {file.stem}, but {file} is missing")
        record = formats.read_voc_xml(file, keep_difficult)
        record.image = base / "JPEGImages" / record.image.name
        records.append(record)
    names = list(classes) if classes else sorted({n for r in records for n, c in zip(r.names, r.crowd) if not c})
    records = [r for r in records if any(n in names and not c for n, c in zip(r.names, r.crowd))]
    return DrivingSplit(DetectionFiles(records, names), names, "detection")


def penn_fudan(split: str = "train", root: str | None = None, num_val: int = 50) -> DrivingSplit:
    """Penn-Fudan pedestrians: ``PennFudanPed/{PNGImages,Annotation}``; the last ``num_val`` images are val."""
    split = _split(split, "penn_fudan")
    folder = _root(root, "penn_fudan")
    base = folder / "PennFudanPed" if (folder / "PennFudanPed").is_dir() else folder
    if not (base / "PNGImages").is_dir() or not (base / "Annotation").is_dir():
        raise DatasetNotFoundError(
            f"Penn-Fudan files not found: expected {base}/PNGImages and {base}/Annotation. Download "
            "PennFudanPed.zip from https://www.cis.upenn.edu/~jshi/ped_html/ and unzip it into "
            f"{folder}, or set data.args.root."
        )
    images = sorted((base / "PNGImages").glob("*.png"))
    chosen = images[:-num_val] if split == "train" else images[-num_val:]
    records = []
    for image in chosen:
        annotation = base / "Annotation" / f"{image.stem}.txt"
        if not annotation.is_file():
            raise DatasetNotFoundError(f"{image} has no annotation: expected {annotation}")
        boxes = formats.read_penn_fudan(annotation)
        records.append(formats.ImageRecord(image, boxes, ["pedestrian"] * len(boxes)))
    return DrivingSplit(DetectionFiles(records, ["pedestrian"]), ["pedestrian"], "detection")


class CityscapesFiles(Dataset):
    """Cityscapes frames and fine labels, resized to ``size`` (bilinear images, nearest labels) and mapped to
    the 19 train ids."""

    def __init__(self, pairs: list[tuple[Path, Path]], size: tuple[int, int]):
        self.pairs, self.size = pairs, size
        lookup = np.full(256, formats.IGNORE_INDEX, np.uint8)
        for label_id, train_id in formats.CITYSCAPES_TRAIN_IDS.items():
            lookup[label_id] = train_id
        self.lookup = lookup

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, label_path = self.pairs[index]
        h, w = self.size
        with Image.open(image_path) as image:
            rgb = np.array(image.convert("RGB").resize((w, h), Image.BILINEAR))
        with Image.open(label_path) as label:
            ids = np.array(label.resize((w, h), Image.NEAREST))
        mask = self.lookup[ids]
        return torch.from_numpy(rgb).permute(2, 0, 1).contiguous(), torch.from_numpy(mask).long()


def cityscapes(split: str = "train", root: str | None = None, height: int = 256, width: int = 512) -> DrivingSplit:
    """Cityscapes fine annotations: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` and
    ``gtFine/<split>/<city>/*_gtFine_labelIds.png``, the 19 benchmark classes, resized to ``height`` x ``width``."""
    split = _split(split, "cityscapes")
    folder = _root(root, "cityscapes")
    images_dir, labels_dir = folder / "leftImg8bit" / split, folder / "gtFine" / split
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise DatasetNotFoundError(
            f"Cityscapes files not found: expected {images_dir} and {labels_dir}. Register at "
            "https://www.cityscapes-dataset.com, download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip, "
            f"unzip both into {folder}, or set data.args.root."
        )
    pairs = []
    for image in sorted(images_dir.glob("*/*_leftImg8bit.png")):
        stem = image.name.removesuffix("_leftImg8bit.png")
        label = labels_dir / image.parent.name / f"{stem}_gtFine_labelIds.png"
        if not label.is_file():
            raise DatasetNotFoundError(f"{image} has no fine label: expected {label}")
        pairs.append((image, label))
    if not pairs:
        raise DatasetNotFoundError(f"no *_leftImg8bit.png under {images_dir}/<city>/")
    return DrivingSplit(CityscapesFiles(pairs, (height, width)), list(formats.CITYSCAPES_CLASSES), "segmentation",
                        (height, width))
