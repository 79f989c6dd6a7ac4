"""Parsers of the upstream annotation formats: KITTI label_2, COCO JSON, Pascal VOC XML, Penn-Fudan and Cityscapes.

Each returns plain records (file names, xyxy boxes in pixels, class names) and raises a
:class:`~zoo.errors.ZooError` naming the file and line of anything malformed, so a broken download is found at load
time rather than as a shape error in the middle of training.

Regions that the upstream evaluation ignores are kept and flagged ``crowd`` rather than dropped: COCO's
``iscrowd`` annotations and VOC's ``difficult`` objects (KITTI's DontCare lines are kept by the label reader as
their own type). A detection inside such a region is then neither a true nor a false positive, as upstream.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import ZooError

KITTI_CLASSES: tuple[str, ...] = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc")
KITTI_IGNORED = "DontCare"  # regions left unlabelled: neither objects nor background, ignored by the evaluation
COCO_ROAD_USERS: tuple[str, ...] = ("person", "bicycle", "car", "motorcycle", "bus", "truck", "traffic light")
VOC_ROAD_USERS: tuple[str, ...] = ("person", "bicycle", "car", "motorbike", "bus")

Box = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max in pixels


@dataclass
class ImageRecord:
    """One annotated image: where it is, its objects, and which of them are ignore regions (``crowd``)."""

    image: Path
    boxes: list[Box] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    width: int = 0  # 0 when the format does not say
    height: int = 0
    crowd: list[bool] = field(default_factory=list)  # one per box; True: detections there are not scored

    def __post_init__(self) -> None:
        if not self.crowd:
            self.crowd = [False] * len(self.boxes)

    def add(self, box: Box, name: str, crowd: bool = False) -> None:
        """One more box, keeping ``boxes``, ``names`` and ``crowd`` aligned."""
        self.boxes.append(box)
        self.names.append(name)
        self.crowd.append(crowd)


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


def read_coco(
    path: str | Path, images_dir: str | Path, classes: tuple[str, ...] | None
) -> tuple[list[ImageRecord], list[str]]:
    """Images and boxes of a COCO ``instances`` file, keeping ``classes`` (None: every category).

    ``iscrowd`` annotations are kept with ``crowd`` set: as in COCO's evaluation, a crowd box ignores the
    detections of its own category that lie inside it (intersection over the detection's area).

    ``classes`` need not all be in the file (a set without motorcycles still serves the road-user list), but at
    least one must be.

    Returns the records and the kept class names, in the order given (or of category id when ``classes`` is None).
    """
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ZooError(f"{path} is not valid JSON: {error}") from error
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise ZooError(f"{path} is not a COCO instances file: it has no {key!r} list")
    categories = {c["id"]: c["name"] for c in sorted(data["categories"], key=lambda c: c["id"])}
    if classes is None:
        kept = list(dict.fromkeys(categories.values()))
    else:
        if not set(classes) & set(categories.values()):
            found = ", ".join(categories.values())
            raise ZooError(f"{path} has none of the categories {list(classes)}; it has: {found}")
        kept = list(classes)  # the label space stays the same for every split, whichever classes a split holds
    records = {
        image["id"]: ImageRecord(Path(images_dir) / image["file_name"], width=int(image.get("width", 0)),
                                 height=int(image.get("height", 0)))
        for image in data["images"]
    }
    for number, ann in enumerate(data["annotations"]):
        name = categories.get(ann.get("category_id"))
        if name not in kept:
            continue
        if ann.get("image_id") not in records:
            raise ZooError(f"{path}: annotation {ann.get('id', number)} names image {ann.get('image_id')}, not listed")
        x, y, w, h = (float(v) for v in ann["bbox"])
        if w > 0 and h > 0:
            records[ann["image_id"]].add((x, y, x + w, y + h), name, crowd=bool(ann.get("iscrowd", 0)))
    return list(records.values()), kept


def read_voc_xml(path: str | Path, keep_difficult: bool = False) -> ImageRecord:
    """One Pascal VOC annotation file; ``difficult`` objects are kept with ``crowd`` set, so that detections of them
    are ignored as VOC's evaluation ignores them, or, with ``keep_difficult``, as ordinary objects.

    VOC coordinates are 1-based inclusive pixel indices; they become 0-based edges (x_min - 1, ..., x_max).
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise ZooError(f"{path} is not valid XML: {error}") from error
    filename = root.findtext("filename")
    if not filename:
        raise ZooError(f"{path} is not a VOC annotation: it has no <filename>")
    size = root.find("size")
    record = ImageRecord(Path(filename), width=int(float(size.findtext("width", "0"))) if size is not None else 0,
                         height=int(float(size.findtext("height", "0"))) if size is not None else 0)
    for obj in root.iter("object"):
        name, box = obj.findtext("name"), obj.find("bndbox")
        if not name or box is None:
            raise ZooError(f"{path}: an <object> lacks <name> or <bndbox>")
        try:
            x0, y0, x1, y1 = (float(box.findtext(tag)) for tag in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError) as error:
            raise ZooError(f"{path}: <bndbox> of {name!r} needs numeric xmin, ymin, xmax, ymax") from error
        difficult = obj.findtext("difficult", "0").strip() == "1"
        record.add((x0 - 1, y0 - 1, x1, y1), name.strip(), crowd=difficult and not keep_difficult)
    return record


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
