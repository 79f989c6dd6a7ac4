"""Parsers of driving's own annotation formats: KITTI label_2, VisDrone-DET, Penn-Fudan and Cityscapes label ids.

Each raises a :class:`~zoo.errors.ZooError` naming the file and line of anything malformed. KITTI's DontCare lines
are kept by the label reader as their own type, VisDrone's ignored regions (category 0) as theirs; the loaders turn
them into ignore regions (``crowd``). COCO JSON, Pascal VOC XML and YOLO files are the shared detection problem's
(zoo.problems.detection.formats); the road-user class lists for them are here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError

KITTI_CLASSES: tuple[str, ...] = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc")
KITTI_IGNORED = "DontCare"  # regions left unlabelled: neither objects nor background, ignored by the evaluation
COCO_ROAD_USERS: tuple[str, ...] = ("person", "bicycle", "car", "motorcycle", "bus", "truck", "traffic light")
VOC_ROAD_USERS: tuple[str, ...] = ("person", "bicycle", "car", "motorbike", "bus")
# VisDrone-DET object categories 1..10; 0 marks ignored regions and 11 "others" (see read_visdrone).
VISDRONE_CLASSES: tuple[str, ...] = ("pedestrian", "people", "bicycle", "car", "van", "truck", "tricycle",
                                     "awning-tricycle", "bus", "motor")
VISDRONE_IGNORED, VISDRONE_OTHERS = 0, 11
Box = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max in pixels


@dataclass
class KittiObject:
    """One line of a KITTI ``label_2`` file: the 15 fields of the object development kit (16 with a score)."""

    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: Box
    dimensions: tuple[float, float, float]  # height, width, length in metres
    location: tuple[float, float, float]  # x, y, z in camera coordinates, metres
    rotation_y: float
    score: float | None = None


def read_kitti_label(path: str | Path) -> list[KittiObject]:
    """All objects of one KITTI label file, DontCare regions included (callers decide what to drop)."""
    objects = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (15, 16):
            raise ZooError(f"{path}:{number}: a KITTI label line has 15 fields (16 with a score), found {len(fields)}")
        try:
            values = [float(v) for v in fields[1:]]
        except ValueError as error:
            raise ZooError(f"{path}:{number}: KITTI fields 2-15 must be numbers ({error})") from error
        objects.append(KittiObject(
            type=fields[0], truncated=values[0], occluded=int(values[1]), alpha=values[2],
            bbox=(values[3], values[4], values[5], values[6]), dimensions=(values[7], values[8], values[9]),
            location=(values[10], values[11], values[12]), rotation_y=values[13],
            score=values[14] if len(values) == 15 else None,
        ))
    return objects


@dataclass
class VisDroneObject:
    """One line of a VisDrone-DET ``annotations/*.txt`` file (8 comma-separated fields, left and top 0-based)."""

    box: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max in pixels
    score: int  # 1: considered in evaluation, 0: ignored
    category: int  # 0 ignored region, 1..10 VISDRONE_CLASSES, 11 others
    truncation: int
    occlusion: int


def read_visdrone(path: str | Path) -> list[VisDroneObject]:
    """Every line of a VisDrone-DET annotation file: ``left,top,width,height,score,category,truncation,occlusion``
    (a trailing comma, as some releases write, is allowed)."""
    objects = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = [f for f in line.strip().split(",")]
        if fields and fields[-1] == "":
            fields = fields[:-1]
        if not fields:
            continue
        if len(fields) != 8:
            raise ZooError(f"{path}:{number}: a VisDrone-DET line has 8 comma-separated fields, found {len(fields)}")
        try:
            left, top, width, height = (float(v) for v in fields[:4])
            score, category, truncation, occlusion = (int(v) for v in fields[4:])
        except ValueError as error:
            raise ZooError(f"{path}:{number}: VisDrone fields must be numbers ({error})") from error
        if not 0 <= category <= VISDRONE_OTHERS:
            raise ZooError(f"{path}:{number}: VisDrone category {category} is not in 0..11")
        objects.append(VisDroneObject((left, top, left + width, top + height), score, category, truncation,
                                      occlusion))
    return objects


_PENN_FUDAN_BOX = re.compile(
    r'Bounding box for object \d+ "(?P<label>[^"]+)" \(Xmin, Ymin\) - \(Xmax, Ymax\) : '
    r"\((?P<x0>\d+), (?P<y0>\d+)\) - \((?P<x1>\d+), (?P<y1>\d+)\)"
)


def read_penn_fudan(path: str | Path) -> list[Box]:
    """Pedestrian boxes of a Penn-Fudan ``Annotation/*.txt`` file (PASCAL Annotation Version 1.00)."""
    boxes = [
        (float(m["x0"]) - 1, float(m["y0"]) - 1, float(m["x1"]), float(m["y1"]))
        for m in _PENN_FUDAN_BOX.finditer(Path(path).read_text(errors="replace"))
    ]
    if not boxes:
        raise ZooError(f"{path} holds no 'Bounding box for object N' line: not a Penn-Fudan annotation")
    return boxes


# Cityscapes label ids (gtFine *_labelIds.png) -> the 19 train ids of the benchmark; every other id is ignored (255).
CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic_light", "traffic_sign", "vegetation", "terrain",
    "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)
CITYSCAPES_TRAIN_IDS: dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14,
    28: 15, 31: 16, 32: 17, 33: 18,
}
IGNORE_INDEX = 255
