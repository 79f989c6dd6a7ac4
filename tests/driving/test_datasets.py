"""Parsers and loaders on files in the upstream layouts, the real KITTI sample, and the embedded scenes."""

import numpy as np
import pytest
import torch

from tests.conftest import SHARED_DATA
from tests.driving import files
from zoo.driving import datasets, draw, formats, scenes
from zoo.problems.detection import formats as box_formats
from zoo.errors import ConfigError, DatasetNotFoundError, ZooError

KITTI_SAMPLE = SHARED_DATA / "driving" / "kitti_object_sample"


def test_kitti_label_has_the_15_fields_and_dontcare_is_an_ignore_region_of_every_class(tmp_path):
    root = files.write_kitti(tmp_path / "kitti")
    objects = formats.read_kitti_label(root / "training" / "label_2" / "000000.txt")
    car = objects[0]
    assert [o.type for o in objects] == ["Car", "Pedestrian", "DontCare"]
    assert car.bbox == (10.0, 20.0, 50.0, 45.0) and car.dimensions == (1.5, 1.6, 3.8)
    assert car.location == (-2.0, 1.6, 15.0) and car.rotation_y == -1.6 and car.occluded == 0 and car.score is None
    train, val = datasets.kitti("train", root=str(root)), datasets.kitti("val", root=str(root))
    assert len(train.dataset) == 4 and len(val.dataset) == 1  # every 5th frame is val
    image, target = train.dataset[0]
    assert image.shape == (3, 50, 100) and image.dtype == torch.uint8
    dont_care = [80, 5, 95, 15]
    assert target["boxes"].tolist() == [[10, 20, 50, 45], [60, 10, 70, 40]] + [dont_care] * 8
    assert [train.classes[i - 1] for i in target["labels"].tolist()] == ["Car", "Pedestrian", *formats.KITTI_CLASSES]
    assert target["iscrowd"].dtype == torch.int64 and target["iscrowd"].tolist() == [0, 0] + [1] * 8
    only_cars = datasets.kitti("train", root=str(root), classes=["Car"])
    _, target = only_cars.dataset[0]
    assert target["labels"].tolist() == [1, 1] and target["iscrowd"].tolist() == [0, 1] and only_cars.classes == ["Car"]
    assert target["boxes"][1].tolist() == dont_care


def test_kitti_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="data_object_label_2.zip.*data.args.root"):
        datasets.kitti("train", root=str(tmp_path))
    root = files.write_kitti(tmp_path / "kitti", frames=1)
    (root / "training" / "label_2" / "000000.txt").write_text("Car 0.0 0 1.0 1 2 3\n")
    with pytest.raises(ZooError, match="000000.txt:1: a KITTI label line has 15 fields"):
        datasets.kitti("train", root=str(root))
    with pytest.raises(ConfigError, match="not KITTI classes; valid: Car, Van"):
        datasets.kitti("train", root=str(root), classes=["Bus"])


def test_coco_keeps_road_users_flags_crowds_and_converts_xywh(tmp_path):
    root = files.write_coco(tmp_path / "coco")
    split = datasets.coco("val", root=str(root))
    assert split.classes == list(formats.COCO_ROAD_USERS)
    assert len(split.dataset) == 1  # the image with only a dog has no road user
    image, target = split.dataset[0]
    assert image.shape == (3, 48, 64)
    assert target["boxes"].tolist() == [[4, 6, 24, 16], [30, 5, 38, 35], [40, 5, 60, 35]]
    assert [split.classes[i - 1] for i in target["labels"].tolist()] == ["car", "person", "person"]
    assert target["iscrowd"].tolist() == [0, 0, 1]  # the crowd of people is kept as an ignore region
    records, _ = box_formats.read_coco(root / "annotations" / "instances_val2017.json", root / "val2017", None)
    assert [r.crowd for r in records] == [[False, False, True], [False]]
    everything = datasets.coco("train", root=str(root), classes=None, keep_empty=True)
    assert everything.classes == ["person", "car", "dog"] and len(everything.dataset) == 2
    with pytest.raises(ZooError, match="none of the categories \\['train'\\]; it has: person, car, dog"):
        datasets.coco("train", root=str(root), classes=["train"])
    with pytest.raises(DatasetNotFoundError, match="annotations_trainval2017.zip"):
        datasets.coco("train", root=str(tmp_path / "missing"))


def test_voc_xml_is_one_based_and_difficult_objects_are_ignore_regions(tmp_path):
    root = files.write_voc(tmp_path / "voc")
    record = box_formats.read_voc_xml(root / "VOCdevkit" / "VOC2012" / "Annotations" / "2008_000001.xml")
    assert record.image.name == "2008_000001.jpg" and (record.width, record.height) == (80, 60)
    assert record.names == ["car", "person", "cat"] and record.boxes[0] == (10.0, 20.0, 40.0, 50.0)
    assert record.crowd == [False, True, False]  # the difficult person
    assert box_formats.read_voc_xml(root / "VOCdevkit" / "VOC2012" / "Annotations" / "2008_000001.xml",
                                keep_difficult=True).crowd == [False, False, False]
    train, val = datasets.voc("train", root=str(root)), datasets.voc("val", root=str(root))
    assert len(train.dataset) == 2 and len(val.dataset) == 1 and train.classes == list(formats.VOC_ROAD_USERS)
    image, target = val.dataset[0]
    assert image.shape == (3, 60, 80)
    assert [val.classes[i - 1] for i in target["labels"].tolist()] == ["car", "person", "bus"]
    assert target["iscrowd"].tolist() == [0, 1, 0]
    every_name = datasets.voc("train", root=str(root / "VOCdevkit" / "VOC2012"), classes=None)
    assert every_name.classes == ["car", "cat"]  # a name seen only on difficult objects is not a class
    assert datasets.voc("val", root=str(root), keep_difficult=True).dataset[0][1]["iscrowd"].tolist() == [0, 0, 0]


def test_penn_fudan_boxes(tmp_path):
    root = files.write_penn_fudan(tmp_path / "pf", count=4)
    assert formats.read_penn_fudan(root / "PennFudanPed" / "Annotation" / "FudanPed00001.txt") == [
        (10.0, 5.0, 30.0, 55.0), (50.0, 10.0, 70.0, 58.0)]
    train, val = datasets.penn_fudan("train", root=str(root), num_val=1), datasets.penn_fudan("val", root=str(root),
                                                                                              num_val=1)
    assert (len(train.dataset), len(val.dataset)) == (3, 1) and train.classes == ["pedestrian"]
    assert val.dataset[0][1]["labels"].tolist() == [1, 1] and val.dataset[0][1]["iscrowd"].tolist() == [0, 0]


def test_cityscapes_maps_label_ids_to_train_ids(tmp_path):
    root = files.write_cityscapes(tmp_path / "cityscapes")
    split = datasets.cityscapes("val", root=str(root), height=16, width=32)
    assert split.problem == "segmentation" and len(split.classes) == 19 and split.image_size == (16, 32)
    image, mask = split.dataset[0]
    assert image.shape == (3, 16, 32) and mask.shape == (16, 32) and mask.dtype == torch.int64
    names = {split.classes[i] if i != 255 else "ignored" for i in mask.unique().tolist()}
    assert names == {"road", "sky", "car", "ignored"}
    with pytest.raises(DatasetNotFoundError, match="gtFine_trainvaltest.zip"):
        datasets.cityscapes("train", root=str(tmp_path))


def test_road_scenes_are_deterministic_with_boxes_on_their_objects():
    first = datasets.road_scenes("val", num_val=24)
    image, target = first.dataset[3]
    assert image.shape == (3, 128, 192) and first.classes == list(scenes.DETECTION_CLASSES)
    seeds = [hash((0, 1, i)) & 0x7FFF_FFFF for i in range(24)]
    assert torch.equal(image, torch.from_numpy(scenes.render(seeds[3]).image).permute(2, 0, 1))
    masks = datasets.road_scenes("val", num_val=24, problem="segmentation")
    seg_names = list(scenes.SEGMENTATION_CLASSES)
    counts = np.zeros(len(scenes.DETECTION_CLASSES) + 1, int)
    for i in range(24):
        _, target = first.dataset[i]
        _, mask = masks.dataset[i]
        boxes = target["boxes"]
        assert target["iscrowd"].tolist() == [0] * len(boxes)  # no ignore regions in the scenes
        assert ((boxes[:, 2:] > boxes[:, :2]).all() and (boxes >= 0).all() and (boxes[:, 2] <= 192).all()
                and (boxes[:, 3] <= 128).all())
        for box, label in zip(boxes.long().tolist(), target["labels"].tolist()):
            counts[label] += 1
            x0, y0, x1, y1 = box
            inside = {seg_names[c] for c in mask[y0:y1 + 1, x0:x1 + 1].unique().tolist()}
            expected = {"car": {"car"}, "truck": {"truck"}, "pedestrian": {"person"}, "cyclist": {"rider", "bicycle"},
                        "traffic_light": {"traffic_light"}}[scenes.DETECTION_CLASSES[label - 1]]
            assert inside & expected, (i, box, inside)
    assert (counts[1:] > 0).all()  # every class appears in a couple of dozen scenes
    with pytest.raises(ConfigError, match="at least 64x64"):
        datasets.road_scenes("train", height=32)


@pytest.mark.skipif(not KITTI_SAMPLE.is_dir(), reason="shared data (../shared/data) is not present")
def test_real_kitti_frames_parse_and_draw(tmp_path):
    """Six real KITTI frames: the parser reads every object and the drawing puts boxes on the picture (six frames
    test formats, not accuracy)."""
    split = datasets.kitti("train", root=str(KITTI_SAMPLE), val_fraction=0.5)
    assert len(split.dataset) == 3
    kinds, ignored = set(), 0
    for i in range(len(split.dataset)):
        image, target = split.dataset[i]
        assert image.shape[0] == 3 and 300 < image.shape[1] < 400 and 1200 < image.shape[2] < 1300
        boxes, crowd = target["boxes"], target["iscrowd"].bool()
        assert len(boxes) and (boxes[:, 2] <= image.shape[2]).all() and (boxes[:, 3] <= image.shape[1]).all()
        kinds |= {split.classes[k - 1] for k in target["labels"][~crowd].tolist()}
        ignored += int(crowd.sum())
    assert {"Car", "Pedestrian"} <= kinds and ignored % len(split.classes) == 0 and ignored > 0
    labels = sorted((KITTI_SAMPLE / "training" / "label_2").glob("*.txt"))
    objects = [o for path in labels for o in formats.read_kitti_label(path)]
    assert len([o for o in objects if o.type != "DontCare"]) == 10 and len(objects) == 25
    image, target = split.dataset[0]
    target = {k: v[target["iscrowd"] == 0] for k, v in target.items()}
    names = [split.classes[k - 1] for k in target["labels"].tolist()]
    drawn = draw.draw_detections(image, target["boxes"], names)
    path = draw.save_png(drawn, tmp_path / "kitti.png")
    assert path.is_file() and drawn.shape == image.shape
    x0, y0, x1, y1 = target["boxes"][0].round().long().tolist()
    colour = torch.tensor(draw.colour_of(names[0]), dtype=torch.uint8)
    assert (drawn[:, y0 + 1, x0 + 5:x1 - 5] == colour[:, None]).all(0).float().mean() > 0.9  # the top edge
