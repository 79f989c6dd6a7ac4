"""Drones: the embedded aerial scenes (many small objects, deterministic) and VisDrone-DET in its upstream layout."""

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.driving import aerial, datasets, formats
from zoo.errors import ZooError

VISDRONE_LINES = [
    "10,20,40,25,1,4,0,0",  # a car
    "60,10,8,16,1,1,0,1",  # a pedestrian
    "80,5,15,10,0,0,0,0",  # an ignored region
    "5,40,12,6,1,11,0,0",  # "others": neither an object nor an ignore region
    "30,30,10,10,0,5,0,0,",  # a van scored 0 (and the trailing comma some releases write)
]


def write_visdrone(root, split_dir="VisDrone2019-DET-val", frames=2):
    for i in range(frames):
        folder = root / split_dir
        (folder / "images").mkdir(parents=True, exist_ok=True)
        (folder / "annotations").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((60, 100, 3), 90, np.uint8)).save(folder / "images" / f"0000{i}_0001.jpg")
        (folder / "annotations" / f"0000{i}_0001.txt").write_text("\n".join(VISDRONE_LINES) + "\n")
    return root


def test_visdrone_ignores_regions_and_leaves_others_out(tmp_path):
    root = write_visdrone(tmp_path)
    split = datasets.visdrone("val", str(root))
    assert split.classes == list(formats.VISDRONE_CLASSES) and len(split.dataset) == 2
    _, target = split.dataset[0]
    names = [split.classes[i - 1] for i in target["labels"].tolist()]
    crowd = target["iscrowd"].tolist()
    objects = [n for n, c in zip(names, crowd) if not c]
    assert objects == ["car", "pedestrian"]  # "others" is not among the labels at all
    assert torch.allclose(target["boxes"][0], torch.tensor([10.0, 20.0, 50.0, 45.0]))
    # the ignored region: one ignore box per class; the van scored 0: an ignore box of its own class
    assert crowd.count(1) == len(split.classes) + 1 and names[-1] == "van" and crowd[-1] == 1
    assert datasets.visdrone("val", str(root), classes=["car", "van"]).classes == ["car", "van"]


def test_visdrone_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ZooError, match="VisDrone2019-DET-train"):
        datasets.visdrone("train", str(tmp_path))
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,3\n")
    with pytest.raises(ZooError, match="bad.txt:1"):
        formats.read_visdrone(bad)


def test_aerial_scenes_are_many_small_objects():
    split = datasets.aerial_scenes("val", num_val=12)
    assert split.classes == list(aerial.CLASSES) and split.image_size == (192, 192)
    sides, count = [], 0
    for i in range(len(split.dataset)):
        image, target = split.dataset[i]
        assert image.shape == (3, 192, 192) and image.dtype == torch.uint8
        boxes = target["boxes"]
        assert boxes.min() >= 0 and boxes.max() <= 192
        sides.append(((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt())
        count += len(boxes)
    sides = torch.cat(sides)
    assert count / len(split.dataset) >= 8  # crowded
    assert ((sides >= 5) & (sides <= 32)).float().mean() >= 0.8  # small objects dominate
    again = aerial.render(split.dataset.items.seeds[0])
    assert np.array_equal(again.image, split.dataset.items[0].image)  # deterministic
