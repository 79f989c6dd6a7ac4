"""The main command, as the README promises it: the default vision recipe learns the embedded dataset (its target
is checked by tests/test_recipe_targets.py); here its training loss falls steadily."""

import json

import pytest


@pytest.mark.slow
def test_default_recipe_training_loss_falls(recipe_run):
    run = recipe_run("vision/small_cnn_shapes")
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train/loss"] for r in records if "train/loss" in r]
    assert losses[-1] < 0.25 * losses[0]
