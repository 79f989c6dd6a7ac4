"""COCO JSON, Pascal VOC XML and YOLO files: read as upstream writes them, written back, boxes unchanged."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.errors import ZooError
from zoo.problems.detection import datasets, formats
from zoo.problems.detection.formats import ImageRecord

CLASSES = ["person", "car", "dog"]


def _record(name: str, crowd: bool = False) -> ImageRecord:
    record = ImageRecord(Path(name), width=64, height=48)
    record.add((4.0, 6.0, 24.0, 16.0), "car")
    record.add((30.0, 5.0, 38.0, 35.0), "person")
    record.add((0.5, 1.25, 10.75, 47.0), "dog")  # fractional pixels survive as well
    if crowd:
        record.add((40.0, 5.0, 60.0, 35.0), "person", crowd=True)
    return record


def _same_boxes(a: ImageRecord, b: ImageRecord) -> None:
    assert a.names == b.names and a.crowd == b.crowd
    assert np.allclose(np.array(a.boxes), np.array(b.boxes), rtol=0, atol=1e-9)


def test_boxes_round_trip_through_coco_voc_and_yolo(tmp_path):
    """COCO -> VOC -> YOLO -> COCO: every format written by zoo reads back to the same boxes (to float precision)."""
    records = [_record("a.jpg"), _record("b.jpg")]
    coco_path = formats.write_coco(tmp_path / "instances.json", records, CLASSES)
    from_coco, kept = formats.read_coco(coco_path, tmp_path / "images", None)
    assert kept == CLASSES
    for original, read in zip(records, from_coco):
        _same_boxes(original, read)
        assert read.image == tmp_path / "images" / original.image.name and (read.width, read.height) == (64, 48)
    voc_files = [formats.write_voc_xml(tmp_path / "voc" / f"{r.image.stem}.xml", r) for r in from_coco]
    from_voc = [formats.read_voc_xml(path) for path in voc_files]
    for original, read in zip(records, from_voc):
        _same_boxes(original, read)
    from_yolo = []
    for record in from_voc:
        path = formats.write_yolo_labels(tmp_path / "labels" / f"{record.image.stem}.txt", record, CLASSES)
        from_yolo.append(formats.read_yolo_labels(path, CLASSES, record.width, record.height))
    for original, read in zip(records, from_yolo):
        _same_boxes(original, read)
    back, _ = formats.read_coco(formats.write_coco(tmp_path / "again.json", from_yolo, CLASSES), tmp_path, None)
    for original, read in zip(records, back):
        _same_boxes(original, read)


def test_ignore_flags_survive_coco_and_voc_and_yolo_refuses_them(tmp_path):
    record = _record("c.jpg", crowd=True)
    coco, _ = formats.read_coco(formats.write_coco(tmp_path / "c.json", [record], CLASSES), tmp_path, None)
    assert coco[0].crowd == [False, False, False, True]
    voc = formats.read_voc_xml(formats.write_voc_xml(tmp_path / "c.xml", record))
    assert voc.crowd == [False, False, False, True]  # difficult
    assert formats.read_voc_xml(tmp_path / "c.xml", keep_difficult=True).crowd == [False] * 4
    with pytest.raises(ZooError, match="cannot mark ignore regions"):
        formats.write_yolo_labels(tmp_path / "c.txt", record, CLASSES)


def test_yolo_reads_segments_and_rejects_bad_lines(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1 0.1 0.2 0.3 0.2 0.2 0.6\n")  # a segment: the box around its points
    record = formats.read_yolo_labels(path, CLASSES, 100, 50)
    assert record.names == ["car"] and np.allclose(record.boxes, [(10.0, 10.0, 30.0, 30.0)])
    path.write_text("7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ZooError, match="class 7 is not in data.yaml"):
        formats.read_yolo_labels(path, CLASSES, 100, 50)
    path.write_text("0 0.5 0.5 0.1\n")
    with pytest.raises(ZooError, match=r"x.txt:1"):
        formats.read_yolo_labels(path, CLASSES, 100, 50)
    assert formats.read_yolo_labels(tmp_path / "missing.txt", CLASSES, 10, 10).boxes == []  # a background image


def write_yolo_set(root: Path, names_as_mapping: bool = True) -> Path:
    """An Ultralytics-layout folder: data.yaml, images/{train,val}/*.jpg, labels/{train,val}/*.txt."""
    for split, count in (("train", 3), ("val", 2)):
        for i in range(count):
            pixels = np.full((48, 64, 3), 60, np.uint8)
            pixels[6:16, 4:24] = 250
            image = root / "images" / split / f"{split}{i}.jpg"
            image.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(image)
            record = ImageRecord(image, width=64, height=48)
            record.add((4.0, 6.0, 24.0, 16.0), "car")
            if i:
                record.add((30.0, 5.0, 38.0, 35.0), "person")
            formats.write_yolo_labels(root / "labels" / split / f"{split}{i}.txt", record, CLASSES)
    if names_as_mapping:
        formats.write_yolo_yaml(root / "data.yaml", CLASSES, {"train": "images/train", "val": "images/val"})
    else:
        (root / "data.yaml").write_text("train: images/train\nval: images/val\nnc: 3\nnames: [person, car, dog]\n")
    return root


@pytest.mark.parametrize("mapping", [True, False])
def test_yolo_loader_reads_the_layout(tmp_path, mapping):
    root = write_yolo_set(tmp_path / "set", mapping)
    train, val = datasets.yolo("train", str(root)), datasets.yolo("val", str(root))
    assert train.classes == CLASSES and len(train.dataset) == 3 and len(val.dataset) == 2
    image, target = val.dataset[1]
    assert image.shape == (3, 48, 64)
    assert target["labels"].tolist() == [2, 1] and target["iscrowd"].tolist() == [0, 0]
    assert np.allclose(target["boxes"].numpy(), [[4, 6, 24, 16], [30, 5, 38, 35]], atol=1e-4)


def test_yolo_loader_errors_name_the_fix(tmp_path):
    with pytest.raises(ZooError, match="data.yaml"):
        datasets.yolo("train", str(tmp_path))
    (tmp_path / "data.yaml").write_text("train: images/train\n")
    with pytest.raises(ZooError, match="no 'names'"):
        datasets.yolo("train", str(tmp_path))
    (tmp_path / "data.yaml").write_text("train: images/train\nnames: [a]\n")
    with pytest.raises(ZooError, match="names no 'val' split"):
        datasets.yolo("val", str(tmp_path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "car"}], '
         '"annotations": [{"id": 7, "image_id": 1, "category_id": 1}]}', "a record lacks the field 'bbox'"),
        ('{"images": [], "categories": [{"id": 1}], "annotations": []}', "a record lacks the field 'name'"),
        ('[1, 2]', "it has no 'images' list"),
        ('{"images": 3, "categories": [], "annotations": []}', "TypeError"),
    ],
)
def test_a_coco_file_missing_required_fields_fails_naming_it(tmp_path, content, message):
    path = tmp_path / "instances.json"
    path.write_text(content)
    with pytest.raises(ZooError, match=message) as caught:
        formats.read_coco(path, tmp_path, None)
    assert "instances.json" in str(caught.value) and "\n" not in str(caught.value)
