"""The shared detection problem end to end in vision: a YOLO folder trains, evaluates and predicts; the embedded
everyday scenes; sliced metrics; ImageNet backbone weights through the catalog's mirror; the renamed key."""

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from tests.problems.detection.test_formats import CLASSES, write_yolo_set
from zoo import recipes
from zoo.errors import ConfigError
from zoo.hub import catalog
from zoo.problems.detection import detectors
from zoo.task import load_task
from zoo.vision import scenes

TINY_MODEL = ["model.args={width_mult: 0.25, fpn_channels: 32, head_convs: 1, min_size: 64, max_size: 96, "
              "score_thresh: 0.0}"]
QUIET = ["trainer.progress=false", "trainer.tensorboard=false", "trainer.log_every=1", "trainer.threads=1"]


def test_a_yolo_folder_trains_evaluates_and_predicts(tmp_path):
    root = write_yolo_set(tmp_path / "set")
    result = zoo.train("vision", problem="detection", dataset="yolo", output=tmp_path / "run",
                       overrides=[f"data.args.root={root}", "data.batch_size=2", "trainer.max_steps=2", *TINY_MODEL,
                                  *QUIET])
    assert result.summary["dataset"] == "yolo" and result.summary["monitor"] == "val/map_50"
    metrics = zoo.evaluate(result.run_dir)
    assert {"val/map", "val/map_50", "val/mar_100", "val/ap_car", "val/ar_car", "val/ap_person"} <= set(metrics)
    assert "val/ap_dog" not in metrics  # no dog in the validation split: not scored
    image = root / "images" / "val" / "val1.jpg"
    predictions = zoo.predict(result.run_dir, [str(image)], output_dir=str(tmp_path / "drawn"), score_threshold=0.0)
    assert predictions[0]["input"] == str(image)
    assert Image.open(predictions[0]["output"]).size[0] >= 64  # the image, drawn (enlarged for readable captions)
    for found in predictions[0]["detections"]:
        assert found["label"] in CLASSES and len(found["box"]) == 4
    sliced = zoo.predict(result.run_dir, [str(image)], output_dir=str(tmp_path / "drawn"), slice_size=32)
    assert sliced[0]["sliced"] == {"slice_size": 32, "overlap": 0.25}


def test_everyday_scenes_are_deterministic_and_crowded():
    first, again = scenes.render(5), scenes.render(5)
    assert np.array_equal(first.image, again.image) and np.array_equal(first.boxes, again.boxes)
    split = scenes.everyday_scenes("val", num_val=30)
    labels, sides = [], []
    for i in range(len(split.dataset)):
        image, target = split.dataset[i]
        assert image.shape == (3, 128, 128) and image.dtype == torch.uint8
        boxes = target["boxes"]
        assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()
        assert boxes.min() >= 0 and boxes.max() <= 128
        labels.append(target["labels"])
        sides.append(((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt())
    labels, sides = torch.cat(labels), torch.cat(sides)
    assert set(labels.tolist()) == set(range(1, len(scenes.CLASSES) + 1))  # every class appears
    assert len(labels) / len(split.dataset) >= 3  # several objects per image
    assert sides.max() / sides.min() >= 3  # a spread of scales


def test_sliced_figures_come_with_the_whole_image_ones():
    task = load_task(recipes.resolve("vision", problem="detection", overrides=[
        "data.args.num_train=4", "data.args.num_val=4", "task_args.slice_size=64", *TINY_MODEL]))
    data = task.build_data(["val"])
    model = task.build_model(data.info).eval()
    batch = data.collate([data.eval_transform(data.val[i]) for i in range(2)])
    metrics = task.build_metrics(data.info)
    with torch.no_grad():
        task.eval_step(model, batch, metrics)
    result = metrics.compute()
    assert {"map_50", "sliced_map_50", "map_small", "sliced_map_small", "sliced_mar_100"} <= set(result)


def test_task_args_pretrained_names_the_new_key():
    with pytest.raises(Exception, match="model.pretrained"):
        load_task(recipes.resolve("vision", problem="detection", overrides=["task_args.pretrained=coco_v1"]))


@pytest.fixture
def mirrored_backbone(tmp_path, monkeypatch, zoo_home):
    """An ImageNet-classifier-shaped MobileNetV2 file, reachable only through ZOO_MIRROR (its source is unreachable),
    named by a catalog entry as the builder's own ``pretrained``."""
    from torchvision.models import mobilenet_v2

    torch.manual_seed(3)
    weights = mobilenet_v2().state_dict()
    name = "vision/fcos_mobilenet_v2.test_imagenet"
    file = tmp_path / "mirror" / "vision" / "fcos_mobilenet_v2.test_imagenet" / "mobilenet_v2-test.pth"
    file.parent.mkdir(parents=True)
    torch.save(weights, file)
    entry = {"name": name, "file_name": file.name, "sources": ["https://unreachable.invalid/mobilenet_v2-test.pth"],
             "format": "pth", "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
             "builder_args": {"pretrained": name}}
    (tmp_path / "catalog.json").write_text(json.dumps({"format": catalog.FORMAT, "checkpoints": [entry]}))
    monkeypatch.setenv("ZOO_CATALOG", str(tmp_path / "catalog.json"))
    monkeypatch.setenv("ZOO_MIRROR", str(tmp_path / "mirror"))
    return weights


def test_backbone_weights_load_through_the_mirror(mirrored_backbone):
    overrides = ["model.pretrained=test_imagenet", "data.args.num_train=4", "data.args.num_val=4",
                 "model.args={min_size: 64, max_size: 64, frozen_bn: true}"]
    task = load_task(recipes.resolve("vision", model="fcos_mobilenet_v2", overrides=overrides))
    data = task.build_data(["train"])
    model = task.build_model(data.info)
    assert data.info["pretrained"]["source"] == "vision/fcos_mobilenet_v2.test_imagenet"
    body = model.backbone.body.state_dict()
    features = {k.removeprefix("features."): v for k, v in mirrored_backbone.items() if k.startswith("features.")}
    assert all(torch.equal(body[k], v) for k, v in features.items() if k in body)
    assert sum(k in body for k in features) > 200
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.backbone.body.modules())  # frozen
    # A checkpoint being loaded holds its weights: rebuilding it fetches nothing.
    reloaded = load_task(recipes.resolve("vision", model="fcos_mobilenet_v2", overrides=overrides),
                         saved_info=data.info)
    rebuilt = reloaded.build_model(data.info)
    assert not torch.equal(rebuilt.backbone.body.state_dict()["0.0.weight"], body["0.0.weight"])
    # The same entry through zoo.build_model.
    built = zoo.build_model("vision", "fcos_mobilenet_v2", pretrained="test_imagenet", num_classes=3)
    assert torch.equal(built.backbone.body.state_dict()["0.0.weight"], features["0.0.weight"])


def test_backbone_weights_of_another_width_do_not_fit(tmp_path):
    from zoo.errors import WeightsMismatchError

    torch.save(detectors.mobilenet_v2().state_dict(), tmp_path / "v2.pth")
    with pytest.raises(WeightsMismatchError, match="width_mult 1.0"):
        detectors.load_backbone(detectors.mobilenet_v2(width_mult=0.5).features, str(tmp_path / "v2.pth"), "features.")
    with pytest.raises(ConfigError, match="not a file"):
        detectors.load_backbone(detectors.mobilenet_v2().features, str(tmp_path / "missing.pth"), "features.")


def test_generated_scenes_are_the_same_in_every_process():
    """Scene seeds must not depend on Python's per-process string hashing (evaluate reruns the validation split)."""
    import os
    import subprocess
    import sys

    code = ("from zoo.vision.scenes import generate as A; from zoo.driving.aerial import generate as B; "
            "print(A('val', 3, 0, 64, 64, 4).seeds, B('val', 3, 0, 64, 4.0, 8.0).seeds)")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1
