"""zoo.fit: a recipe met with another dataset gets a schedule fitted to the data's size and the machine."""

import io
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from zoo import fit, recipes
from zoo.api import prepare_run


@dataclass
class Data:
    train: Any
    val: Any = None


class Items:
    def __init__(self, size: int, **attributes: Any):
        self.size = size
        self.__dict__.update(attributes)

    def __len__(self) -> int:
        return self.size


def fitted(size: int, overrides=(), model="resnet18", dataset="image_folder", cores=2, load=0.0, monkeypatch=None,
           **attributes):
    config, _ = prepare_run("vision", model, dataset, overrides=list(overrides), output="/nonexistent/run")
    out = io.StringIO()
    result = fit.fit_run(config, Data(Items(size, **attributes)), torch.device("cpu"), out=out)
    return config, result, out.getvalue()


@pytest.fixture(autouse=True)
def machine(monkeypatch):
    monkeypatch.setattr(fit, "usable_cores", lambda: 2)
    monkeypatch.setattr(fit, "load_average", lambda: 0.0)
    monkeypatch.setattr(fit, "cpu_runs_bf16_fast", lambda: False)


def steps(config, size: int) -> int:
    per_epoch = -(-size // config.data.batch_size)
    return config.trainer.max_steps or config.trainer.epochs * per_epoch


def test_the_cifar_recipe_on_244_photos_is_fitted_to_them():
    config, result, printed = fitted(244)
    assert config.recipe == "vision/resnet18_cifar10"
    assert config.data.batch_size == 32 and config.optim.lr == pytest.approx(0.1 * 32 / 128)  # SGD: linear
    assert steps(config, 244) >= fit.MIN_STEPS
    total = steps(config, 244)
    warmup = config.scheduler.warmup_steps or config.scheduler.warmup_fraction * total
    assert 0 < warmup <= 0.1 * total  # inside the run: the rate decays
    assert config.trainer.precision == "fp32" and config.data.num_workers <= 1
    assert "adapted: trainer.epochs 100 -> " in printed and "244 training items" in printed
    assert config.adapted["data.batch_size"].startswith("128 -> 32 (")
    assert result.summary()["adapted"] == {k: v for k, v in config.adapted.items() if v != fit.PINNED}


def test_a_tiny_dataset_still_gets_the_floor_of_steps_and_a_batch_no_larger_than_it():
    config, _, _ = fitted(10)
    assert config.data.batch_size <= 10 // fit.MIN_BATCHES_PER_EPOCH
    assert steps(config, 10) >= fit.MIN_STEPS


def test_a_large_dataset_keeps_its_batch_and_takes_few_epochs():
    config, _, printed = fitted(2_000_000)
    assert config.data.batch_size == 128 and config.optim.lr == 0.1
    assert config.trainer.epochs == fit.epochs_for(2_000_000) <= 6
    assert config.scheduler.warmup_steps == 390  # 390 steps are well inside a run of 90,000
    assert "data.batch_size" not in printed


def test_epochs_fall_with_the_dataset_size():
    sizes = [100, 244, 2_700, 100_000, 1_000_000, 50_000_000]
    epochs = [fit.epochs_for(n) for n in sizes]
    assert epochs == sorted(epochs, reverse=True) and epochs[0] <= fit.MAX_EPOCHS and epochs[-1] >= fit.MIN_EPOCHS


def test_overrides_and_recipe_pins_are_never_adapted():
    config, _, printed = fitted(244, ["trainer.epochs=7", "data.batch_size=128"])
    assert config.trainer.epochs == 7 and config.data.batch_size == 128 and config.optim.lr == 0.1
    assert config.adapted["trainer.epochs"] == fit.PINNED and "trainer.epochs" not in printed
    config, _, _ = fitted(244, ["adapted={trainer.precision: pinned}"])
    assert config.trainer.precision == "bf16"


def test_the_recipes_own_dataset_is_not_refitted():
    config, _ = prepare_run("vision", "resnet18", "cifar10", output="/nonexistent/run")
    before = config.to_dict()
    fit.fit_run(config, Data(Items(50_000)), torch.device("cpu"), out=io.StringIO())
    after = config.to_dict()
    changed = {k for k in before["trainer"] if before["trainer"][k] != after["trainer"][k]}
    assert changed <= {"threads"} and before["data"]["batch_size"] == after["data"]["batch_size"]
    assert after["data"]["num_workers"] <= 1  # workers follow the cores whatever the data


def test_a_resumed_run_is_not_fitted_again():
    config, _, _ = fitted(244)
    epochs = config.trainer.epochs
    config.trainer.epochs = 99  # as if the saved config said so
    fit.fit_run(config, Data(Items(244)), torch.device("cpu"), out=io.StringIO())
    assert config.trainer.epochs == 99 != epochs


def test_threads_follow_the_free_cores(monkeypatch):
    assert fit.threads_for(2, 6.0) == 1 and fit.threads_for(2, 0.1) == 2 and fit.threads_for(16, 3.0, workers=4) == 9
    monkeypatch.setattr(fit, "load_average", lambda: 7.5)
    config, result, printed = fitted(244)
    assert config.trainer.threads == 1
    assert printed.splitlines()[0] == "threads: 1 of 2 usable cores (load 7.5, 1 loader workers)"
    config, result, printed = fitted(244, ["trainer.threads=2"])
    assert config.trainer.threads == 2 and printed.startswith("threads: 2 of 2 usable cores (as pinned")


def test_what_loaders_derive_and_skip_is_saved_and_reported():
    config, result, printed = fitted(
        244, fitted={"data.args.image_size": (None, 48, "median shorter side")},
        skipped={"files that are not images": ["a.gif"], "images that cannot be read": ["b.jpg", "c.png"]})
    assert config.data.args["image_size"] == 48
    assert "adapted: data.args.image_size none -> 48 (median shorter side)" in printed
    assert result.skipped["counts"] == {"files that are not images": 1, "images that cannot be read": 2}
    assert "skipped: 3 in all: 1 files that are not images (e.g. a.gif)" in printed


def test_recipe_dataset_reads_the_recipe_file():
    config = recipes.resolve("vision", model="small_cnn", dataset="cifar100")
    assert fit.recipe_dataset(config) == "shapes" and fit.needs_fitting(config)
