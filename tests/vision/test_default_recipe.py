"""The main command, as the README promises it: the default vision recipe learns the embedded dataset."""

import json

import pytest

from tests.conftest import run_zoo


@pytest.mark.slow
def test_default_recipe_reaches_its_documented_accuracy(tmp_path):
    run = tmp_path / "run"
    run_zoo("train", "--task", "vision", "--output", str(run), "trainer.progress=false", timeout=600)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best"]["val/top1"] >= 0.90
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train/loss"] for r in records if "train/loss" in r]
    assert losses[-1] < 0.25 * losses[0]
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(run / "checkpoints" / "best"), "--json").stdout)
    assert metrics == pytest.approx({k: v for k, v in summary["best"].items() if k.startswith("val/")}, abs=1e-6)
