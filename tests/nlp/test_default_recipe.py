"""The issue's check: the default NLP recipe reads word order well enough to beat a bag of words by far."""

import json

import pytest

from tests.conftest import recipe_timeout, run_zoo


@pytest.mark.slow
def test_default_recipe_reads_word_order(recipe_run):
    """Its accuracy target is checked by tests/test_recipe_targets.py; here the macro F1 keeps pace with it."""
    summary = json.loads((recipe_run("nlp/bert_tiny_sentiment") / "summary.json").read_text())
    assert summary["model"] == "bert_tiny"
    assert summary["best"]["val/f1_macro"] >= summary["best"]["val/accuracy"] - 0.02


@pytest.mark.slow
def test_a_bag_of_words_scores_far_below(tmp_path):
    run = tmp_path / "bow"
    run_zoo("train", "--task", "nlp", "--model", "fasttext", "--output", str(run), "model.args.ngrams=1",
            "trainer.progress=false", timeout=recipe_timeout("nlp/fasttext_sentiment"))
    summary = json.loads((run / "summary.json").read_text())
    assert 0.55 < summary["best"]["val/accuracy"] < 0.75
