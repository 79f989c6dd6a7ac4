"""The main command, as the docs promise it: the default recipe beats the popularity baseline on the embedded log
(its own target is checked by tests/test_recipe_targets.py)."""

import json

import pytest


@pytest.mark.slow
def test_default_recipe_clearly_beats_popularity(recipe_run):
    summary = json.loads((recipe_run("recommendation/mf_synthetic") / "summary.json").read_text())
    best = summary["best"]
    assert best["val/pop_ndcg@10"] > 0.03 and best["val/pop_hr@10"] > 0.05  # the baseline is reported, and sane
    assert best["val/ndcg@10"] >= 3 * best["val/pop_ndcg@10"]
    assert best["val/hr@10"] >= 3 * best["val/pop_hr@10"]
