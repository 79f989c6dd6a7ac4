"""The problem shape from a user's side: --problem and TASK/PROBLEM pick a problem's recipe, a model picks its own,
and a model and dataset that do not fit fail in one line listing what does."""

import warnings

import pytest
import torch

import zoo
from tests.conftest import run_zoo
from zoo import recipes, registry
from zoo.errors import ConfigError, HeadReinitializedWarning


@pytest.mark.parametrize(
    ("task", "problem", "model"),
    [("driving", "segmentation", "lraspp_mobilenet_v3"), ("speech", "transcription", "crnn_ctc"),
     ("medical", "segmentation", "unet"), ("recommendation", "rating", "mf_rating"),
     ("vision", "classification", "small_cnn")],
)
def test_a_problem_picks_its_default_recipe(task, problem, model):
    by_flag = recipes.resolve(task, problem=problem)
    by_path = recipes.resolve(f"{task}/{problem}")
    assert by_flag.model.name == by_path.model.name == model
    assert by_flag.problem == problem and by_flag.recipe == registry.get_problem_entry(task, problem).default_recipe


def test_a_model_picks_its_own_problem():
    assert recipes.resolve("speech", model="conformer_ctc").problem == "transcription"
    assert recipes.resolve("medical", model="unet").problem == "segmentation"


def test_a_model_and_dataset_that_do_not_fit_name_what_does():
    result = run_zoo("train", "--task", "medical", "--model", "unet", "--dataset", "breastmnist", check=False)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "breastmnist" in line and "segmentation" in line
    assert "mask_folder" in line and "msd" in line  # the datasets that fit
    with pytest.raises(ConfigError, match="models for transcription: crnn_ctc"):
        recipes.resolve("speech", problem="transcription", model="temporal_cnn")
    with pytest.raises(ConfigError, match="name two problems"):
        recipes.resolve("speech/keywords", problem="transcription")


def test_a_missing_recipe_names_those_that_exist(monkeypatch, tmp_path):
    (tmp_path / "vision").mkdir()
    (tmp_path / "vision" / "small_cnn_mnist.yaml").write_text("task: vision\n")
    monkeypatch.setenv("ZOO_CONFIGS", str(tmp_path))
    with pytest.raises(ConfigError, match="recipes of task 'vision': small_cnn_mnist"):
        recipes.resolve("vision")


def test_a_swapped_dataset_keeps_no_argument_and_says_whose_settings_it_took():
    config = recipes.resolve("vision", model="small_cnn", dataset="cifar100", overrides=["data.args.root=x"])
    assert config.data.args == {"root": "x"} and config.recipe == "vision/small_cnn_shapes"
    assert config.target.metric == ""  # the recipe's promise was for its own dataset


def test_listing_shows_the_problem_of_every_model_and_dataset():
    out = run_zoo("list").stdout
    for entry in zoo.list_models():
        assert entry.problem and entry.problem in registry.get_task(entry.task).problems
    assert all(d.problems for d in zoo.list_datasets())
    assert "transcription" in out and "segmentation" in out and "rating" in out


def test_fine_tune_from_a_local_checkpoint_with_model_pretrained(tiny_run, tiny_vision, tmp_path, capfd):
    """model.pretrained takes a run directory: every weight starts as it ended there, and the run says so."""
    from zoo import checkpoint as ckpt
    from zoo.task import load_task

    start = ckpt.read_weights(ckpt.resolve(tiny_run))
    config = recipes.resolve("vision", overrides=[*tiny_vision, f"model.pretrained={tiny_run}"])
    task = load_task(config)
    data = task.build_data(["train"])
    model = task.build_model(data.info)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in start.items())
    assert data.info["pretrained"]["kind"] == "zoo"
    result = zoo.train(task="vision", output=tmp_path / "tuned",
                       overrides=[*tiny_vision, f"model.pretrained={tiny_run}", "trainer.epochs=1"])
    assert result.summary["steps"] > 0 and "val/top1" in result.summary["best"]
    assert "started from: " in capfd.readouterr().err.split("epoch 1/")[0]
    assert zoo.load(result.best_checkpoint).model is not None  # rebuilds without reading the source again


def test_weights_of_other_labels_get_a_fresh_head_with_a_warning(tiny_run):
    classes = [f"c{i}" for i in range(10)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, record = __import__("zoo.pretrained", fromlist=["build"]).build(
            "vision", "small_cnn", str(tiny_run), {"width": 8}, {"num_classes": 10, "in_channels": 3},
            labels=classes)
    assert any(issubclass(w.category, HeadReinitializedWarning) for w in caught)
    assert record["kind"] == "zoo"


def test_a_source_that_is_nothing_known_fails_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        zoo.build_model("vision", "small_cnn", pretrained=str(tmp_path / "missing.safetensors"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="without zoo meta.json"):
        zoo.build_model("vision", "small_cnn", pretrained=str(tmp_path / "empty"))
    with pytest.raises(zoo.errors.UnknownNameError, match="no_such_tag"):
        zoo.build_model("vision", "small_cnn", pretrained="no_such_tag")
