import pytest
import torch
from PIL import Image

from zoo import recipes
from zoo.errors import ConfigError, ZooError
from zoo.task import load_task
from zoo.vision import transforms


def test_train_transform_keeps_shape_and_normalises():
    image = torch.full((3, 32, 32), 255, dtype=torch.uint8)
    out = transforms.train_transform(32, (0.5,) * 3, (0.25,) * 3, crop_padding=4, hflip=True)(image)
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32
    assert torch.allclose(out, torch.full_like(out, 2.0))  # (1 - 0.5) / 0.25, reflect padding keeps the value


def test_load_image_converts_channels_and_size(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGBA", (50, 20), (10, 20, 30, 40)).save(path)
    grey = transforms.load_image(path, channels=1, image_size=28)
    rgb = transforms.load_image(path, channels=3, image_size=32)
    assert grey.shape == (1, 28, 28) and rgb.shape == (3, 32, 32) and rgb.dtype == torch.uint8
    assert rgb[:, 16, 16].tolist() == [10, 20, 30]


def test_load_image_errors(tmp_path):
    with pytest.raises(ZooError, match="does not exist"):
        transforms.load_image(tmp_path / "missing.png", 3, 32)
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ZooError, match="not a readable image"):
        transforms.load_image(bad, 3, 32)


def test_task_args_are_checked():
    with pytest.raises(ConfigError, match="Did you mean 'task_args.label_smoothing'"):
        load_task(recipes.resolve("vision", overrides=["task_args.label_smooth=0.1"]))


def test_model_gets_classes_and_channels_from_the_data():
    config = recipes.resolve("vision", overrides=["data.args.num_train=16", "data.args.num_val=16"])
    task = load_task(config)
    data = task.build_data(["train", "val"])
    model = task.build_model(data.info)
    assert model[-1].out_features == data.info["num_classes"] == len(data.info["classes"])


def test_sample_files_hold_the_validation_images_and_predict_reads_them(tiny_run, tmp_path):
    import json

    import numpy as np

    import zoo

    task = load_task(recipes.resolve("vision", overrides=["data.args.num_val=64"]))
    paths = task.write_samples(tmp_path, 6)
    val = task.load_split("val")
    references = json.loads((tmp_path / "references.json").read_text())
    assert len(set(references.values())) == 6  # six shapes, one of each
    for path in paths:
        image, label = val.dataset[int(path.name.split("_")[0])]
        assert np.array_equal(np.array(Image.open(path)), image.permute(1, 2, 0).numpy())
        assert references[path.name] == val.classes[label]
    predictions = zoo.predict(tiny_run, [str(p) for p in paths])
    assert [p["input"] for p in predictions] == [str(p) for p in paths]
