"""The issue's check: the default NLP recipe reads word order well enough to beat a bag of words by far."""

import json

import pytest

from tests.conftest import run_zoo


@pytest.mark.slow
def test_default_recipe_reaches_its_documented_accuracy(tmp_path):
    run = tmp_path / "run"
    run_zoo("train", "--task", "nlp", "--output", str(run), "trainer.progress=false", timeout=600)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["model"] == "bert_tiny" and summary["best"]["val/accuracy"] >= 0.90
    assert summary["best"]["val/f1_macro"] >= 0.90
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(run / "checkpoints" / "best"), "--json").stdout)
    assert metrics == pytest.approx({k: v for k, v in summary["best"].items() if k.startswith("val/")}, abs=1e-6)


@pytest.mark.slow
def test_a_bag_of_words_scores_far_below(tmp_path):
    run = tmp_path / "bow"
    run_zoo("train", "--task", "nlp", "--model", "fasttext", "--output", str(run), "model.args.ngrams=1",
            "trainer.progress=false", timeout=600)
    summary = json.loads((run / "summary.json").read_text())
    assert 0.55 < summary["best"]["val/accuracy"] < 0.75
