"""The main command, as the docs promise it: the default recipe beats the popularity baseline on the embedded log."""

import json

import pytest

from tests.conftest import run_zoo


@pytest.mark.slow
def test_default_recipe_clearly_beats_popularity(tmp_path):
    run = tmp_path / "run"
    run_zoo("train", "--task", "recommendation", "--output", str(run), "trainer.progress=false", timeout=600)
    summary = json.loads((run / "summary.json").read_text())
    best = summary["best"]
    assert summary["monitor"] == "val/ndcg@10"
    assert best["val/pop_ndcg@10"] > 0.03 and best["val/pop_hr@10"] > 0.05  # the baseline is reported, and sane
    assert best["val/ndcg@10"] >= 0.2 and best["val/ndcg@10"] >= 3 * best["val/pop_ndcg@10"]
    assert best["val/hr@10"] >= 0.35 and best["val/hr@10"] >= 3 * best["val/pop_hr@10"]
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(run / "checkpoints" / "best"), "--json").stdout)
    assert metrics == pytest.approx({k: v for k, v in best.items() if k.startswith("val/")}, abs=1e-6)
