"""End to end: the default recipe through the CLI (shrunk), evaluate and predict on its checkpoint; segmentation
with masks and overlays written; multi-label, 3D volumes, and the errors that name the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from tests.conftest import recipe_timeout, run_zoo
from tests.medical.files import write_medmnist, write_png
from zoo import recipes
from zoo.api import evaluate_with_report, load
from zoo.errors import ConfigError
from zoo.medical.phantoms import generate
from zoo.task import load_task

QUIET = ["trainer.progress=false", "trainer.tensorboard=false", "trainer.log_every=5", "trainer.threads=1"]
TINY_CLASSIFIER = ["data.args.num_train=480", "data.args.num_val=150", "data.args.image_size=48",
                   "data.batch_size=32", "data.eval_batch_size=150", "trainer.epochs=2", *QUIET]
TINY_SEGMENTER = ["data.args.num_train=240", "data.args.num_val=24", "data.args.image_size=64",
                  "model.args.channels=[8,16,32]", "task_args.patch_size=[48]", "data.batch_size=16",
                  "data.eval_batch_size=24", "optim.lr=0.01", "trainer.epochs=2", *QUIET]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    run = tmp_path_factory.mktemp("medical") / "classifier"
    run_zoo("train", "--task", "medical", "--output", str(run), *TINY_CLASSIFIER,
            timeout=recipe_timeout("medical/resnet18_phantom"))
    return run


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory):
    run = tmp_path_factory.mktemp("medical") / "segmenter"
    zoo.train(task="medical", model="unet", output=run, overrides=TINY_SEGMENTER)
    return run


def test_default_recipe_learns_and_evaluates_as_logged(classifier):
    summary = json.loads((classifier / "summary.json").read_text())
    assert summary["model"] == "resnet18" and summary["dataset"] == "phantom"
    assert summary["best"]["val/auroc"] >= 0.8  # chance is 0.5
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(classifier), "--json").stdout)
    assert metrics == pytest.approx({k: v for k, v in summary["best"].items() if k.startswith("val/")}, abs=1e-5)
    assert {"val/auroc_normal", "val/auroc_cyst", "val/auroc_tumour", "val/balanced_accuracy"} <= set(metrics)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_predict_reads_sample_files_as_training_read_the_scans(classifier, tmp_path):
    """Scans of the validation split written by ``zoo samples`` get the probabilities the model gave them in
    evaluation, and are named after their diagnosis."""
    loaded = load(classifier)
    data = loaded.task.build_data(["val"])
    written = loaded.task.write_samples(tmp_path, 6)
    references = json.loads((tmp_path / "references.json").read_text())
    assert sorted(set(references.values())) == ["cyst", "normal", "tumour"]
    indices = [int(path.name.split("_")[0]) for path in written]
    assert [references[p.name] for p in written] == [["normal", "cyst", "tumour"][int(data.val[i]["label"])]
                                                      for i in indices]
    items = [data.eval_transform(data.val[i]) for i in indices]
    paths = [str(path) for path in written]
    with torch.no_grad():
        expected = loaded.model(torch.stack([image for image, _ in items])).softmax(dim=-1)
    out = zoo.predict(classifier, paths)
    assert [p["input"] for p in out] == paths
    for prediction, probs in zip(out, expected.tolist()):
        assert list(prediction["probabilities"]) == ["normal", "cyst", "tumour"]
        assert list(prediction["probabilities"].values()) == pytest.approx(probs, abs=1e-3)
        assert prediction["label"] == max(prediction["probabilities"], key=prediction["probabilities"].get)
    text = loaded.task.format_prediction(out[0])
    assert text.startswith(f"{paths[0]}: {out[0]['label']} (")


def test_segmentation_recipe_learns_and_writes_masks_and_overlays(segmenter, tmp_path):
    summary = json.loads((segmenter / "summary.json").read_text())
    assert summary["monitor"] == "val/dice" and summary["best"]["val/dice_organ"] >= 0.7  # all-organ scores ~0.2
    assert summary["best"]["val/dice"] >= 0.4
    assert {"val/dice_organ", "val/dice_lesion", "val/iou_organ", "val/iou_lesion"} <= set(summary["best"])
    scan = write_png(tmp_path / "scan0.png", generate(1, 5, 64)[0][0, 0].numpy())
    big = write_png(tmp_path / "big.png", generate(1, 7, 96)[0][0, 0].numpy())  # several 48x48 windows
    out = _json_lines(run_zoo("predict", "--checkpoint", str(segmenter), str(scan), str(big), "--output-dir",
                              str(tmp_path / "pred"), "--json").stdout)
    for prediction, size in zip(out, (64, 96)):
        mask = np.array(Image.open(prediction["mask"]))
        assert mask.shape == (size, size) and set(np.unique(mask)) <= {0, 1, 2} and (mask == 1).any()
        picture = Image.open(prediction["overlay"])
        assert picture.mode == "RGB" and picture.size == (size, size)
        assert prediction["pixels"]["organ"] == int((mask == 1).sum())
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == [
        "big_mask.png", "big_overlay.png", "scan0_mask.png", "scan0_overlay.png"]


def test_segmentation_samples_carry_their_reference_masks(segmenter, tmp_path):
    task = load(segmenter).task
    written = task.write_samples(tmp_path, 3)
    references = json.loads((tmp_path / "references.json").read_text())
    val = task.load_split("val").dataset
    for path in written:
        item = val[int(path.name.split("_")[0])]
        assert np.array_equal(np.array(Image.open(path)), item["image"][0].numpy())
        mask = np.array(Image.open(tmp_path / references[path.name]["mask"]))
        assert np.array_equal(mask, item["mask"].numpy())
        assert references[path.name]["pixels"]["lesion"] == int((mask == 2).sum())
    [prediction] = zoo.predict(segmenter, [str(written[0])], output_dir=str(tmp_path / "masks"))
    assert Image.open(prediction["mask"]).size == Image.open(written[0]).size


def test_segmenting_a_volume_slice_by_slice_writes_nifti(segmenter, tmp_path):
    pytest.importorskip("nibabel")
    from zoo.medical.readers import read_nifti, write_nifti

    volume = generate(1, 3, 64, spatial_dims=3)[0][0, 0, 28:36].numpy()
    write_nifti(tmp_path / "scan.nii.gz", volume)
    (prediction,) = zoo.predict(segmenter, [str(tmp_path / "scan.nii.gz")], output_dir=str(tmp_path / "out"))
    mask, _ = read_nifti(prediction["mask"])
    assert prediction["mask"].endswith("scan_mask.nii.gz") and mask.shape == (8, 64, 64)
    assert Image.open(prediction["overlay"]).size == (64, 64)


def test_multi_label_and_3d_runs(tmp_path):
    multi = zoo.train(task="medical", output=tmp_path / "multi", overrides=[
        "data.args.multi_label=true", "data.args.num_train=64", "data.args.num_val=32", "data.args.image_size=32",
        "data.batch_size=32", "trainer.epochs=1", *QUIET])
    assert {"val/auroc_cyst", "val/auroc_tumour", "val/accuracy"} <= set(multi.metrics)
    volumes = zoo.train(task="medical", model="unet", output=tmp_path / "3d", overrides=[
        "data.args.spatial_dims=3", "data.args.image_size=24", "data.args.num_train=4", "data.args.num_val=2",
        "model.args.channels=[4,8]", "task_args.patch_size=[16]", "data.batch_size=2", "trainer.epochs=1", *QUIET])
    assert np.isfinite(volumes.metrics["val/loss"]) and "val/dice_lesion" in volumes.metrics


def test_a_model_and_dataset_of_different_problems_name_the_fix(tmp_path):
    write_medmnist(tmp_path, "pneumoniamnist")
    with pytest.raises(ConfigError, match=r"'pneumoniamnist' serves classification, but model 'unet' does "
                                          r"segmentation: choose a model for it \(resnet18, resnet50, densenet121\)"):
        recipes.resolve("medical", model="unet", dataset="pneumoniamnist", overrides=[f"data.args.root={tmp_path}"])
    with pytest.raises(ConfigError, match="unknown config key 'task_args.crop_padding'"):
        load_task(recipes.resolve("medical", model="unet", overrides=["task_args.crop_padding=2"]))
    config = recipes.resolve("medical", overrides=["model.args.small_input=true", "task_args.patch_size=[32]"])
    with pytest.raises(ConfigError, match="patch_size"):
        load_task(config)


def test_patch_sizes_must_fit_the_unet(tmp_path):
    config = recipes.resolve("medical", model="unet", overrides=["task_args.patch_size=[30]",
                                                                  "data.args.num_train=8", "data.args.num_val=8"])
    task = load_task(config)
    data = task.build_data(["train"])
    with pytest.raises(ConfigError, match="divisible by 8"):
        task.build_model(data.info)
    assert torch.is_tensor(data.train[0]["image"])


def test_evaluation_figures(classifier, segmenter, tmp_path):
    pytest.importorskip("matplotlib")
    _, figures = evaluate_with_report(classifier, report=tmp_path / "c", overrides=["data.args.num_val=40"])
    assert sorted(p.name for p in figures) == ["confusion_matrix.png", "samples.png"]
    _, figures = evaluate_with_report(segmenter, report=tmp_path / "s", overrides=["data.args.num_val=4"])
    assert [p.name for p in figures] == ["overlays.png"] and figures[0].stat().st_size > 0


def test_pneumoniamnist_recipe_runs_on_an_upstream_file_and_scores_its_test_split(tmp_path):
    write_medmnist(tmp_path / "data", "pneumoniamnist", counts=(16, 8, 8))
    result = zoo.train(task="medical", dataset="pneumoniamnist", output=tmp_path / "run", overrides=[
        f"data.args.root={tmp_path / 'data'}", "trainer.epochs=1", "data.batch_size=16", *QUIET])
    assert (result.summary["model"], result.summary["steps"]) == ("resnet18", 1)
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(result.best_checkpoint), "--split", "test",
                                 "--json", "--no-report").stdout)
    assert {"test/auroc", "test/accuracy", "test/auroc_pneumonia"} <= set(metrics)
    assert json.loads((result.best_checkpoint / "meta.json").read_text())["info"]["image_size"] == [28, 28]
