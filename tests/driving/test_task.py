"""The driving task end to end: the default recipe shrunk, through the CLI, then evaluate and predict; the honest
validation loss; segmentation; the errors a user meets."""

import copy
import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from tests.conftest import recipe_timeout, run_zoo
from tests.driving import files
from zoo import recipes
from zoo.data import SeededDataset
from zoo.driving import scenes
from zoo.problems.detection.task import _loss_mode
from zoo.errors import ConfigError
from zoo.task import load_task

# The default recipe at a sixth of its length: 100 steps instead of 600, 48 validation scenes.
TINY = ["data.args.num_train=400", "data.args.num_val=48", "trainer.epochs=2", "trainer.eval_every=100",
        "trainer.progress=false", "trainer.tensorboard=false", "trainer.log_every=10"]
TINY_SEG = ["data.args.num_train=160", "data.args.num_val=32", "data.batch_size=8", "trainer.epochs=2",
            "trainer.progress=false", "trainer.tensorboard=false", "trainer.log_every=5"]


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("driving") / "run"
    run_zoo("train", "--task", "driving", "--output", str(run), *TINY,
            timeout=recipe_timeout("driving/fcos_mobilenet_v3_road_scenes"))
    return run


@pytest.mark.slow
def test_default_recipe_learns_far_above_chance(detection_run):
    summary = json.loads((detection_run / "summary.json").read_text())
    best = summary["best"]
    assert summary["model"] == "fcos_mobilenet_v3" and summary["monitor"] == "val/map_50"
    # Random boxes score about 0.001; a sixth of the recipe already finds cars and trucks (the full recipe: 0.66).
    assert best["val/map_50"] >= 0.04 and best["val/ap50_car"] >= 0.1 and best["val/ap50_truck"] >= 0.1
    records = [json.loads(line) for line in (detection_run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train/loss"] for r in records if "train/loss" in r]
    assert losses[-1] < 0.75 * losses[0]
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(detection_run), "--json").stdout)
    assert metrics == pytest.approx({k: v for k, v in best.items() if k.startswith("val/")}, abs=1e-6)
    if importlib.util.find_spec("matplotlib"):  # evaluate also draws PR curves and detections
        figures = sorted(p.name for p in (detection_run / "reports").glob("*/*.png"))
        assert figures == ["pr_curves.png", "samples.png"]


@pytest.mark.slow
def test_predict_draws_boxes_and_returns_json(detection_run, tmp_path):
    images = []
    for i in range(2):
        scene = scenes.render(90_000 + i)
        images.append(tmp_path / f"street{i}.png")
        Image.fromarray(scene.image).save(images[-1])
    predictions = zoo.predict(detection_run, [str(p) for p in images], output_dir=str(tmp_path / "drawn"),
                              score_threshold=0.1)
    task = load_task(recipes.resolve("driving"))
    assert [json.loads(task.format_prediction(p)) for p in predictions] == predictions  # what the CLI prints
    assert [p["input"] for p in predictions] == [str(p) for p in images]
    assert sum(len(p["detections"]) for p in predictions) > 0
    for prediction in predictions:
        drawn = np.array(Image.open(prediction["output"]))
        assert drawn.shape == (384, 576, 3)  # 192x128 enlarged 3x so that captions stay readable
        for found in prediction["detections"]:
            x0, y0, x1, y1 = found["box"]
            assert found["label"] in scenes.DETECTION_CLASSES and found["score"] >= 0.1
            assert 0 <= x0 < x1 <= 192 and 0 <= y0 < y1 <= 128
        if prediction["detections"]:
            original = np.array(Image.open(prediction["input"])).repeat(3, 0).repeat(3, 1)
            assert (drawn != original).any(axis=2).mean() > 0.001  # boxes and captions were drawn


def test_validation_loss_is_the_training_loss_without_updating_anything():
    task = load_task(recipes.resolve("driving", overrides=["data.args.num_train=8", "data.args.num_val=8"]))
    data = task.build_data(["val"])
    torch.manual_seed(0)
    model = task.build_model(data.info)
    dataset = SeededDataset(data.val, data.eval_transform)
    batch = data.collate([dataset[i] for i in range(4)])
    model.train()
    with torch.no_grad():
        model(*batch)  # running statistics move away from their initial values
    model.eval()
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = task.build_metrics(data.info)
    with torch.no_grad():
        out = task.eval_step(model, batch, metrics)
    assert out.size == 4 and out.loss > 0.1 and not model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in buffers.items())
    reference = copy.deepcopy(model).train()
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    with torch.no_grad():
        expected = sum(reference(*batch).values())
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)
    with _loss_mode(model):
        assert model.training and not model.backbone.body["0"][1].training
    assert not any(m.training for m in model.modules())


def test_sample_files_hold_the_scenes_with_their_boxes(detection_run, tmp_path):
    task = load_task(recipes.resolve("driving", overrides=["data.args.num_val=48"]))
    written = task.write_samples(tmp_path, 3)
    references = json.loads((tmp_path / "references.json").read_text())
    val = task.load_split("val")
    for path in written:
        image, target = val.dataset[int(path.name.split("_")[0])]
        assert np.array_equal(np.array(Image.open(path)), image.permute(1, 2, 0).numpy())
        boxes = [r["box"] for r in references[path.name]]
        assert torch.allclose(torch.tensor(boxes), target["boxes"], atol=0.05)
        assert [r["label"] for r in references[path.name]] == [val.classes[i - 1] for i in target["labels"].tolist()]
    predictions = zoo.predict(detection_run, [str(p) for p in written], output_dir=str(tmp_path / "drawn"))
    assert [p["input"] for p in predictions] == [str(p) for p in written]


def test_segmentation_recipe_trains_and_predicts_masks(tmp_path):
    result = zoo.train(task="driving", model="lraspp_mobilenet_v3", output=tmp_path / "run", overrides=TINY_SEG)
    best = result.summary["best"]
    assert result.summary["monitor"] == "val/miou"
    assert best["val/pixel_accuracy"] >= 0.6 and best["val/miou"] >= 0.15 and best["val/iou_road"] >= 0.5
    image = tmp_path / "street.png"
    Image.fromarray(scenes.render(123).image).resize((240, 160)).save(image)
    [prediction] = zoo.predict(result.best_checkpoint, [str(image)], output_dir=str(tmp_path / "masks"))
    mask, overlay = Image.open(prediction["mask"]), Image.open(prediction["overlay"])
    assert mask.size == overlay.size == (240, 160)
    assert set(prediction["classes"]) <= set(scenes.SEGMENTATION_CLASSES)
    assert sum(prediction["classes"].values()) == pytest.approx(1, abs=1e-3)
    task = load_task(recipes.resolve("driving", model="lraspp_mobilenet_v3", overrides=TINY_SEG))
    written = task.write_samples(tmp_path / "samples", 2)
    references = json.loads((tmp_path / "samples" / "references.json").read_text())
    mask = np.array(Image.open(tmp_path / "samples" / references[written[0].name]["mask"]))
    assert mask.shape == np.array(Image.open(written[0])).shape[:2] and set(np.unique(mask).tolist()) <= {*range(len(scenes.SEGMENTATION_CLASSES)), 255}
    if importlib.util.find_spec("matplotlib"):
        result.evaluate(report=tmp_path / "report")
        with Image.open(tmp_path / "report" / "samples.png") as figure:
            assert figure.size[0] > 400


def test_model_and_dataset_must_serve_the_same_problem():
    assert recipes.resolve("driving", dataset="cityscapes").problem == "segmentation"  # the dataset's own problem
    with pytest.raises(ConfigError, match="'cityscapes' serves segmentation.*lraspp_mobilenet_v3"):
        recipes.resolve("driving", model="fcos_mobilenet_v3", dataset="cityscapes")
    with pytest.raises(ConfigError, match="Did you mean 'task_args.photometric'"):
        load_task(recipes.resolve("driving", overrides=["task_args.photometrics=0.1"]))


def test_the_model_name_picks_the_segmentation_recipe():
    config = recipes.resolve("driving", model="lraspp_mobilenet_v3")
    assert config.data.dataset == "road_scenes" and config.model.args["width_mult"] == 0.5
    assert type(load_task(config)).__name__ == "Segmentation"
    assert type(load_task(recipes.resolve("driving"))).__name__ == "Detection"


class _RecordingDetector(torch.nn.Module):
    """Stands in for a torchvision detector: in training mode it records the targets its loss is given and returns
    a loss counting their boxes; in evaluation mode it returns fixed detections."""

    def __init__(self, detections: list[dict[str, torch.Tensor]]):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))
        self.detections, self.seen = detections, []

    def forward(self, images, targets=None):
        if self.training:
            self.seen.append(targets)
            return {"boxes": self.weight * sum(len(t["boxes"]) for t in targets)}
        return [dict(d) for d in self.detections]


@pytest.mark.parametrize("dataset, write", [("kitti", files.write_kitti), ("coco", files.write_coco)])
def test_ignore_regions_are_ignored_by_the_metrics_and_never_trained_on(dataset, write, tmp_path):
    """KITTI DontCare and COCO crowd boxes through the task: the losses never see them, and a detection inside one,
    ranked first, leaves AP at 1 next to perfect detections of the objects."""
    root = write(tmp_path / dataset)
    task = load_task(recipes.resolve("driving", dataset=dataset, overrides=[f"data.args.root={root}"]))
    data = task.build_data(["train", "val"])
    train = SeededDataset(data.train, data.train_transform)
    images, targets = data.collate([train[0]])
    assert targets[0]["iscrowd"].any()
    model = _RecordingDetector([])
    out = task.train_step(model.train(), (images, targets))
    [seen] = model.seen.pop()
    objects = targets[0]["iscrowd"] == 0
    assert set(seen) == {"boxes", "labels"} and torch.equal(seen["boxes"], targets[0]["boxes"][objects])
    assert torch.equal(seen["labels"], targets[0]["labels"][objects]) and float(out.loss.detach()) == int(objects.sum())

    images, targets = data.collate([SeededDataset(data.val, data.eval_transform)[0]])
    target = targets[0]
    crowd = target["iscrowd"].bool()
    x0, y0, x1, y1 = target["boxes"][crowd][0].tolist()
    inside = torch.tensor([[x0 + 2, y0 + 1, x1 - 1, y1 - 1]])
    model.detections = [{"boxes": torch.cat([target["boxes"][~crowd], inside]),
                         "labels": torch.cat([target["labels"][~crowd], target["labels"][crowd][:1]]),
                         "scores": torch.cat([torch.linspace(0.8, 0.5, int((~crowd).sum())), torch.tensor([0.99])])}]
    metrics = task.build_metrics(data.info)
    with torch.no_grad():
        out = task.eval_step(model.eval(), (images, targets), metrics)
    assert float(metrics.compute()["map"]) == pytest.approx(1)
    [seen] = model.seen.pop()
    assert torch.equal(seen["boxes"], target["boxes"][~crowd]) and float(out.loss) == int((~crowd).sum())
