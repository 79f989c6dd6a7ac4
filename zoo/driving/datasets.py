"""Driving datasets: the embedded road and aerial scenes, KITTI, VisDrone-DET, COCO-format, Pascal VOC and Penn-Fudan
boxes, Cityscapes masks.

Detection items are the shared detection problem's (zoo.problems.detection.datasets): ``(image, target)`` with
``boxes``, ``labels`` 1..K and ``iscrowd`` 1 for the regions the upstream evaluation ignores (KITTI DontCare, VisDrone
ignored regions, COCO crowds, VOC difficult objects). Segmentation items are ``(image, mask)``: mask int64 (H, W) of
class indices, 255 where unlabelled. Files are decoded on access.
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

from zoo.driving import aerial, formats, scenes
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.problems.detection import datasets as shared
from zoo.problems.detection.datasets import DetectionFiles, read_rgb
from zoo.problems.detection.formats import ImageRecord

SPLITS = ("train", "val")
IMAGE_SUFFIXES = shared.IMAGE_SUFFIXES
__all__ = ["DetectionFiles", "read_rgb", "road_scenes", "aerial_scenes", "kitti", "visdrone", "coco", "voc",
           "penn_fudan", "cityscapes"]


@dataclass
class DrivingSplit:
    """One split and what a model and its checkpoint need to know about it."""

    dataset: Dataset
    classes: list[str]  # without the background
    problem: str  # "detection" or "segmentation"
    image_size: tuple[int, int] | None = None  # (H, W) when every image has it (segmentation resizes to it)


def _split(split: str, dataset: str) -> str:
    return shared.split_name(split, dataset)


def _target(boxes: Any, labels: Any, crowd: Any = None) -> dict[str, torch.Tensor]:
    return shared.target(boxes, labels, crowd)


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
    return shared.root_dir(root, name)


def _holdout(count: int, val_fraction: float, name: str) -> list[bool]:
    return shared.holdout(count, val_fraction, name)


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
        record = ImageRecord(image)
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
    """Any COCO-format detection set (the shared reader); ``classes`` keeps road users by default (null keeps every
    category). Crowd annotations are kept as ignore boxes; ``keep_empty`` keeps the images that have no other box."""
    found = shared.coco(split, root, classes, train_annotations, val_annotations, train_images, val_images,
                        keep_empty)
    return DrivingSplit(found.dataset, found.classes, "detection")


def voc(
    split: str = "train", root: str | None = None, year: str = "2012", classes: Sequence[str] | None =
    formats.VOC_ROAD_USERS, keep_difficult: bool = False, val_fraction: float = 0.2,
) -> DrivingSplit:
    """Pascal VOC layout (the shared reader), road users by default; ``classes`` null keeps every name."""
    found = shared.voc(split, root, year, classes, keep_difficult, val_fraction)
    return DrivingSplit(found.dataset, found.classes, "detection")


def visdrone(
    split: str = "train", root: str | None = None, classes: Sequence[str] | None = None, train_dir: str =
    "VisDrone2019-DET-train", val_dir: str = "VisDrone2019-DET-val",
) -> DrivingSplit:
    """VisDrone-DET: ``root/<train_dir|val_dir>/{images/*.jpg, annotations/*.txt}`` (the release's folders; ``root``
    may also be one split's folder, holding images/ and annotations/ itself, for both splits).

    As in VisDrone's own DET toolkit, only categories 1..10 are scored: a category-0 line (an ignored region) becomes
    one ignore box per class, as KITTI's DontCare does, so detections inside it count neither way; a line scored 0
    is an ignore box of its own class; category 11 ("others") is neither an object nor an ignore region and is left
    out of the labels, so a detection on it is a false positive, as the toolkit counts it. ``classes`` keeps a
    subset of the ten (e.g. [car, van, bus, truck]).
    """
    split = _split(split, "visdrone")
    folder = _root(root, "visdrone")
    base = folder / (train_dir if split == "train" else val_dir)
    if not (base / "annotations").is_dir():
        base = folder
    images_dir, labels_dir = base / "images", base / "annotations"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise DatasetNotFoundError(
            f"VisDrone-DET files not found: expected {folder}/{train_dir if split == 'train' else val_dir}/images and "
            "annotations. Download VisDrone2019-DET-train.zip and VisDrone2019-DET-val.zip from "
            f"https://github.com/VisDrone/VisDrone-Dataset, unzip both into {folder}, or set data.args.root."
        )
    names = list(classes) if classes else list(formats.VISDRONE_CLASSES)
    unknown = [c for c in names if c not in formats.VISDRONE_CLASSES]
    if unknown:
        raise ConfigError(f"data.args.classes {unknown} are not VisDrone classes; valid: "
                          f"{', '.join(formats.VISDRONE_CLASSES)}")
    records = []
    for label in sorted(labels_dir.glob("*.txt")):
        image = next((images_dir / f"{label.stem}{suffix}" for suffix in (".jpg", ".png", ".jpeg")
                      if (images_dir / f"{label.stem}{suffix}").is_file()), None)
        if image is None:
            raise DatasetNotFoundError(f"{label} has no image: expected {images_dir}/{label.stem}.jpg")
        record = ImageRecord(image)
        for obj in formats.read_visdrone(label):
            if obj.category == formats.VISDRONE_IGNORED:
                for name in names:
                    record.add(obj.box, name, crowd=True)
            elif obj.category != formats.VISDRONE_OTHERS:
                record.add(obj.box, formats.VISDRONE_CLASSES[obj.category - 1], crowd=obj.score == 0)
        records.append(record)
    if not records:
        raise DatasetNotFoundError(f"no VisDrone annotations in {labels_dir}")
    return DrivingSplit(DetectionFiles(records, names), names, "detection")


def aerial_scenes(
    split: str = "train", num_train: int = 600, num_val: int = 100, size: int = 192, seed: int = 0,
    min_gsd: float = 4.0, max_gsd: float = 8.0,
) -> DrivingSplit:
    """Embedded: generated top-down scenes seen by a drone at different heights (see aerial.py); ``min_gsd`` and
    ``max_gsd`` bound the pixels per metre, i.e. the flying height."""
    split = _split(split, "aerial_scenes")
    if size < 64:
        raise ConfigError(f"aerial_scenes needs images of at least 64x64 pixels, got {size}")
    if not 0 < min_gsd <= max_gsd:
        raise ConfigError(f"aerial_scenes needs 0 < min_gsd <= max_gsd, got {min_gsd}, {max_gsd}")
    items = aerial.generate(split, num_train if split == "train" else num_val, seed, size, min_gsd, max_gsd)
    return DrivingSplit(aerial.AerialDetection(items), list(aerial.CLASSES), "detection", (size, size))


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
        records.append(ImageRecord(image, boxes, ["pedestrian"] * len(boxes)))
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
