"""Box annotation formats read and written alike: COCO JSON, Pascal VOC XML and the YOLO / Ultralytics layout.

Each reader returns plain records (file names, xyxy boxes in pixels, class names) and raises a
:class:`~zoo.errors.ZooError` naming the file and line of anything malformed, so a broken download is found at load
time rather than as a shape error in the middle of training. Each writer produces the upstream format, so that a
set converts between layouts (``write_yolo(read_coco(...))``) and the tests check that boxes come back unchanged.

Regions that the upstream evaluation ignores are kept and flagged ``crowd`` rather than dropped: COCO's
``iscrowd`` annotations and VOC's ``difficult`` objects (YOLO has no such flag). A detection inside such a region is
then neither a true nor a false positive, as upstream.

Conventions: COCO boxes are ``[x, y, width, height]`` in pixels; VOC's are 1-based inclusive pixel indices
(``xmin - 1`` is the 0-based left edge); YOLO's are ``class cx cy w h`` normalised by the image size.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

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


def read_coco(
    path: str | Path, images_dir: str | Path, classes: tuple[str, ...] | None
) -> tuple[list[ImageRecord], list[str]]:
    """:func:`_read_coco`; a record without a field COCO requires, or of the wrong type, fails naming the file."""
    try:
        return _read_coco(path, images_dir, classes)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        what = f"a record lacks the field {error}" if isinstance(error, KeyError) else f"{type(error).__name__}: {error}"
        raise ZooError(f"{path} is not a COCO instances file as it should be ({what}): images need id and file_name, "
                       "annotations image_id, category_id and bbox [x, y, w, h], categories id and name") from None


def _read_coco(
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
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ZooError(f"{path} is not valid JSON: {error}") from error
    for key in ("images", "annotations", "categories"):
        if not isinstance(data, dict) or key not in data:
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


# -- writers (the inverse of the readers: the tests convert sets between formats and back) -----------------------------


def _number(value: float) -> str:
    """A coordinate as the shortest text that reads back to the same float (an integer when it is one)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_coco(path: str | Path, records: Sequence[ImageRecord], classes: Sequence[str]) -> Path:
    """A COCO ``instances`` file of ``records`` (file names relative to their images folder), category ids 1..K."""
    ids = {name: i + 1 for i, name in enumerate(classes)}
    images, annotations = [], []
    for image_id, record in enumerate(records, 1):
        images.append({"id": image_id, "file_name": record.image.name, "width": record.width,
                       "height": record.height})
        for (x0, y0, x1, y1), name, crowd in zip(record.boxes, record.names, record.crowd):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": ids[name],
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                                "iscrowd": int(crowd)})
    categories = [{"id": i, "name": name, "supercategory": ""} for name, i in ids.items()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def write_voc_xml(path: str | Path, record: ImageRecord) -> Path:
    """One Pascal VOC annotation file; ``crowd`` boxes are written as ``difficult`` objects."""
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = record.image.name
    size = ET.SubElement(root, "size")
    for tag, value in (("width", record.width), ("height", record.height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    for (x0, y0, x1, y1), name, crowd in zip(record.boxes, record.names, record.crowd):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = name
        ET.SubElement(obj, "difficult").text = str(int(crowd))
        box = ET.SubElement(obj, "bndbox")
        for tag, value in (("xmin", x0 + 1), ("ymin", y0 + 1), ("xmax", x1), ("ymax", y1)):
            ET.SubElement(box, tag).text = _number(value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path)
    return path


# -- YOLO / Ultralytics --------------------------------------------------------------------------------------------

YOLO_SPLIT_KEYS = {"train": ("train",), "val": ("val", "valid", "test")}


@dataclass
class YoloLayout:
    """What a YOLO ``data.yaml`` says: the root, the image sources of each split and the class names by id."""

    root: Path
    splits: dict[str, list[Path]]
    names: list[str]


def read_yolo_yaml(path: str | Path) -> YoloLayout:
    """A ``data.yaml`` as Ultralytics reads it: ``path`` (the root, relative to the file; default its folder),
    ``train``/``val``/``test`` (a folder of images, a ``.txt`` list of image paths, or a list of either, relative to
    the root), and ``names`` (a list, or a mapping id -> name)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ZooError(f"{path} is not valid YAML: {error}") from error
    if "names" not in data:
        raise ZooError(f"{path} has no 'names': a YOLO data.yaml names its classes, e.g. names: [person, car]")
    names = data["names"]
    if isinstance(names, dict):
        ids = sorted(int(k) for k in names)
        if ids != list(range(len(ids))):
            raise ZooError(f"{path}: class ids in 'names' must be 0..{len(ids) - 1}, found {ids}")
        names = [str(names[k] if k in names else names[str(k)]) for k in ids]
    elif isinstance(names, list):
        names = [str(n) for n in names]
    else:
        raise ZooError(f"{path}: 'names' must be a list or a mapping of id to name")
    if "nc" in data and int(data["nc"]) != len(names):
        raise ZooError(f"{path}: nc is {data['nc']} but 'names' lists {len(names)} classes")
    root = Path(data.get("path") or ".")
    root = (path.parent / root).resolve() if not root.is_absolute() else root
    splits = {}
    for key in ("train", "val", "valid", "test"):
        value = data.get(key)
        if value:
            splits[key] = [root / v for v in (value if isinstance(value, list) else [value])]
    return YoloLayout(root, splits, names)


def yolo_images(sources: Sequence[Path], suffixes: Sequence[str]) -> list[Path]:
    """The images of a split's sources: every image file in a folder (recursively), or the lines of a .txt list."""
    images: list[Path] = []
    for source in sources:
        if source.is_dir():
            images += sorted(p for p in source.rglob("*") if p.suffix.lower() in suffixes)
        elif source.suffix == ".txt" and source.is_file():
            for line in source.read_text().splitlines():
                if line.strip():
                    entry = Path(line.strip())
                    images.append(entry if entry.is_absolute() else (source.parent / entry).resolve())
        else:
            raise ZooError(f"YOLO split source {source} is neither a folder of images nor a .txt list of them")
    return images


def yolo_label_path(image: Path) -> Path:
    """Where Ultralytics looks for an image's labels: the last ``images`` folder of its path becomes ``labels``."""
    parts = list(image.parts)
    if "images" not in parts:
        raise ZooError(f"{image} is not under an images/ folder: YOLO labels are found by replacing images/ with "
                       "labels/ in the path")
    at = len(parts) - 1 - parts[::-1].index("images")
    parts[at] = "labels"
    return Path(*parts).with_suffix(".txt")


def read_yolo_labels(path: str | Path, names: Sequence[str], width: int, height: int) -> ImageRecord:
    """One YOLO label file: ``class cx cy w h`` normalised by the image size (a segment line, ``class x1 y1 x2 y2
    ...``, becomes the box around its points, as Ultralytics does). A missing file is an image without objects."""
    path = Path(path)
    record = ImageRecord(Path(), width=width, height=height)
    if not path.is_file():
        return record
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            label, values = int(fields[0]), [float(v) for v in fields[1:]]
        except ValueError as error:
            raise ZooError(f"{path}:{number}: YOLO labels are 'class cx cy w h' numbers ({error})") from error
        if not 0 <= label < len(names):
            raise ZooError(f"{path}:{number}: class {label} is not in data.yaml's names (0..{len(names) - 1})")
        if len(values) == 4:
            cx, cy, w, h = values
            box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
        elif len(values) >= 6 and len(values) % 2 == 0:
            xs, ys = values[0::2], values[1::2]
            box = (min(xs) * width, min(ys) * height, max(xs) * width, max(ys) * height)
        else:
            raise ZooError(f"{path}:{number}: a YOLO line is 'class cx cy w h' (or a segment of x y pairs), found "
                           f"{len(values)} numbers after the class")
        if any(not math.isfinite(v) for v in box):
            raise ZooError(f"{path}:{number}: coordinates must be finite")
        record.add(box, names[label])
    return record


def write_yolo_labels(path: str | Path, record: ImageRecord, classes: Sequence[str]) -> Path:
    """One YOLO label file of ``record`` (``width`` and ``height`` must be set). YOLO has no ignore flag: crowd
    boxes are an error rather than silently becoming objects."""
    if not record.width or not record.height:
        raise ZooError(f"{record.image}: YOLO labels are normalised by the image size, which the record lacks")
    if any(record.crowd):
        raise ZooError(f"{record.image}: YOLO labels cannot mark ignore regions (crowd or difficult boxes)")
    ids = {name: i for i, name in enumerate(classes)}
    lines = []
    for (x0, y0, x1, y1), name in zip(record.boxes, record.names):
        w, h = record.width, record.height
        values = ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h)
        lines.append(" ".join([str(ids[name]), *(repr(float(v)) for v in values)]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def write_yolo_yaml(path: str | Path, classes: Sequence[str], splits: dict[str, str]) -> Path:
    """A ``data.yaml``: ``path`` the file's folder, each split's images folder, and ``names`` by id."""
    import yaml

    path = Path(path)
    data: dict[str, Any] = {"path": ".", **splits, "names": {i: name for i, name in enumerate(classes)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
