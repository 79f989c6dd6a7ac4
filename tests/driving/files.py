"""Tiny datasets written in the exact upstream layouts: KITTI, COCO, Pascal VOC, Penn-Fudan and Cityscapes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def _image(path: Path, width: int, height: int, boxes=(), colour=(250, 250, 250)) -> None:
    """A grey image with each box painted in ``colour``, so a test can see where boxes land."""
    pixels = np.full((height, width, 3), 60, np.uint8)
    for x0, y0, x1, y1 in boxes:
        pixels[int(y0):int(y1), int(x0):int(x1)] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


KITTI_LINES = [
    "Car 0.00 0 -1.58 10.00 20.00 50.00 45.00 1.50 1.60 3.80 -2.00 1.60 15.00 -1.60",
    "Pedestrian 0.00 1 0.20 60.00 10.00 70.00 40.00 1.80 0.60 0.80 1.00 1.70 12.00 0.25",
    "DontCare -1 -1 -10 80.00 5.00 95.00 15.00 -1 -1 -1 -1000 -1000 -1000 -10",
]


def write_kitti(root: Path, frames: int = 5) -> Path:
    """``root/training/{image_2,label_2}``: frames of 100x50 with a car, a pedestrian and a DontCare region."""
    for i in range(frames):
        _image(root / "training" / "image_2" / f"{i:06d}.png", 100, 50, [(10, 20, 50, 45), (60, 10, 70, 40)])
        label = root / "training" / "label_2" / f"{i:06d}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("\n".join(KITTI_LINES) + "\n")
    return root


def write_coco(root: Path) -> Path:
    """``root/annotations/instances_{train,val}2017.json`` and ``root/{train,val}2017/*.jpg``."""
    categories = [{"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 3, "name": "car", "supercategory": "vehicle"},
                  {"id": 18, "name": "dog", "supercategory": "animal"}]
    for split in ("train", "val"):
        images = [{"id": 7, "file_name": "000000000007.jpg", "width": 64, "height": 48},
                  {"id": 9, "file_name": "000000000009.jpg", "width": 64, "height": 48}]
        annotations = [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [4.0, 6.0, 20.0, 10.0], "area": 200.0, "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [30.0, 5.0, 8.0, 30.0], "area": 240.0, "iscrowd": 0},
            {"id": 3, "image_id": 7, "category_id": 1, "bbox": [40.0, 5.0, 20.0, 30.0], "area": 600.0, "iscrowd": 1},
            {"id": 4, "image_id": 9, "category_id": 18, "bbox": [1.0, 1.0, 10.0, 10.0], "area": 100.0, "iscrowd": 0},
        ]
        for image in images:
            _image(root / f"{split}2017" / image["file_name"], 64, 48)
        path = root / "annotations" / f"instances_{split}2017.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return root


_VOC = """<annotation>
  <folder>VOC2012</folder>
  <filename>{name}.jpg</filename>
  <size><width>80</width><height>60</height><depth>3</depth></size>
  <object>
    <name>car</name><pose>Left</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>50</ymax></bndbox>
  </object>
  <object>
    <name>person</name><pose>Unspecified</pose><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>50</xmin><ymin>5</ymin><xmax>60</xmax><ymax>40</ymax></bndbox>
  </object>
  <object>
    <name>{other}</name><pose>Left</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>61</xmin><ymin>31</ymin><xmax>75</xmax><ymax>55</ymax></bndbox>
  </object>
</annotation>
"""


def write_voc(root: Path, year: str = "2012") -> Path:
    """``root/VOCdevkit/VOC<year>/{Annotations,JPEGImages,ImageSets/Main}`` with two train and one val image."""
    base = root / "VOCdevkit" / f"VOC{year}"
    names = {"train": ["2008_000001", "2008_000002"], "val": ["2008_000003"]}
    for split, ids in names.items():
        listing = base / "ImageSets" / "Main" / f"{split}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(ids) + "\n")
        for name in ids:
            annotation = base / "Annotations" / f"{name}.xml"
            annotation.parent.mkdir(parents=True, exist_ok=True)
            annotation.write_text(_VOC.format(name=name, other="cat" if split == "train" else "bus"))
            _image(base / "JPEGImages" / f"{name}.jpg", 80, 60)
    return root


_PENN_FUDAN = """# Compatible with PASCAL Annotation Version 1.00
Image filename : "PennFudanPed/PNGImages/{name}.png"
Image size (X x Y x C) : 90 x 60 x 3
Database : "The Penn-Fudan-Pedestrian Database"
Objects with ground truth : 2 {{ "PASpersonWalking" "PASpersonWalking" }}
# Top left pixel co-ordinates : (1, 1)
# Details for pedestrian 1 ("PASpersonWalking")
Original label for object 1 "PASpersonWalking" : "PennFudanPed"
Bounding box for object 1 "PASpersonWalking" (Xmin, Ymin) - (Xmax, Ymax) : (11, 6) - (30, 55)
Pixel mask for object 1 "PASpersonWalking" : "PennFudanPed/PedMasks/{name}_mask.png"

# Details for pedestrian 2 ("PASpersonWalking")
Original label for object 2 "PASpersonWalking" : "PennFudanPed"
Bounding box for object 2 "PASpersonWalking" (Xmin, Ymin) - (Xmax, Ymax) : (51, 11) - (70, 58)
Pixel mask for object 2 "PASpersonWalking" : "PennFudanPed/PedMasks/{name}_mask.png"
"""


def write_penn_fudan(root: Path, count: int = 4) -> Path:
    base = root / "PennFudanPed"
    for i in range(count):
        name = f"FudanPed{i + 1:05d}"
        _image(base / "PNGImages" / f"{name}.png", 90, 60, [(10, 5, 30, 55), (50, 10, 70, 58)])
        annotation = base / "Annotation" / f"{name}.txt"
        annotation.parent.mkdir(parents=True, exist_ok=True)
        annotation.write_text(_PENN_FUDAN.format(name=name))
    return root


def write_cityscapes(root: Path) -> Path:
    """``root/leftImg8bit/<split>/<city>/*_leftImg8bit.png`` and ``gtFine/.../*_gtFine_labelIds.png`` (label ids:
    7 road in the bottom half, 23 sky in the top half, 26 car in a block, 0 unlabelled in a corner)."""
    for split, city in (("train", "aachen"), ("val", "frankfurt")):
        stem = f"{city}_000000_000019"
        _image(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", 64, 32)
        ids = np.full((32, 64), 7, np.uint8)
        ids[:16] = 23
        ids[20:28, 10:30] = 26
        ids[:4, :4] = 0
        label = root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"
        label.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(ids).save(label)
    return root
