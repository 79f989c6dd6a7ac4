"""Translation end to end on a few seconds' recipe: sacreBLEU scores, predict order and errors, samples, report,
export and exact resumption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import ConfigError

TINY = {
    "data.args.num_train": 240,
    "data.args.num_val": 24,
    "data.batch_size": 16,
    "data.eval_batch_size": 12,
    "task_args.vocab_size": 300,
    "task_args.num_beams": 2,
    "model.args.dropout": 0.1,
    "trainer.max_steps": 4,
    "trainer.progress": False,
    "trainer.tensorboard": False,
    "trainer.log_every": 2,
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("translation") / "run"
    zoo.train(task="nlp", problem="translation", output=run, overrides=TINY)
    return run


def test_bleu_and_chrf_equal_sacrebleu_over_batches() -> None:
    import sacrebleu

    from zoo.nlp.translation import SacreMetric, signatures

    hypotheses = ["The cat sat on the mat.", "A dog barks at night!", "It is raining today.", "Hello there."]
    references = ["The cat sat on a mat.", "The dog barks at night.", "Today it rains.", "Hello there."]
    for kind, corpus in (("bleu", sacrebleu.corpus_bleu), ("chrf", sacrebleu.corpus_chrf)):
        metric = SacreMetric(kind)
        metric.update(hypotheses[:3], references[:3])
        metric.update(hypotheses[3:], references[3:])
        assert float(metric.compute()) == pytest.approx(corpus(hypotheses, [references]).score, abs=1e-9)
    found = signatures()
    assert found["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert found["chrf"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")


def test_word_for_word_keeps_source_order_and_drops_words_without_a_translation() -> None:
    from zoo.nlp.word_for_word import WordForWord

    sources = ["the dog sleeps .", "the cat sleeps .", "the dog sees the cat .", "a cat sees the dog ."] * 5
    targets = ["hundo dormas .", "kato dormas .", "hundo katon vidas .", "kato hundon vidas ."] * 5
    baseline = WordForWord(sources, targets)
    assert baseline.dictionary["dog"] == "hundo" and baseline.dictionary["sleeps"] == "dormas"
    assert "the" not in baseline.dictionary
    # "the" is left out, unknown words ("near", "Paris") pass through, the order stays the source's.
    assert baseline.translate("The cat sleeps near Paris.") == "Kato dormas near Paris."
    assert baseline.translate("the dog sees the cat .") == "Hundo vidas kato."


def test_training_writes_bleu_beside_the_baseline_with_signatures(trained: Path) -> None:
    summary = json.loads((trained / "summary.json").read_text())
    for key in ("val/bleu", "val/chrf", "val/baseline_bleu", "val/baseline_chrf", "val/loss"):
        assert key in summary["final"]
    assert summary["monitor"] == "val/bleu"
    meta = json.loads((trained / "checkpoints" / "best" / "meta.json").read_text())
    info = meta["info"]
    assert info["source_lang"] == "en" and info["target_lang"] == "toy" and "tok:13a" in info["signatures"]["bleu"]
    assert info["tokenizer"]["model"]["type"] == "BPE" and info["baseline"]["dictionary"]


def test_evaluate_repeats_what_training_logged(trained: Path) -> None:
    summary = json.loads((trained / "summary.json").read_text())
    metrics = zoo.evaluate(trained / "checkpoints" / "last")
    assert metrics["val/bleu"] == pytest.approx(summary["final"]["val/bleu"], abs=1e-6)
    assert metrics["val/baseline_bleu"] == pytest.approx(summary["final"]["val/baseline_bleu"], abs=1e-6)


def test_predict_keeps_input_order_and_matches_one_at_a_time(trained: Path) -> None:
    sentences = ["The dog sees a red ball.", "They will sing.", "A cat found the old keys near the river.",
                 "I slept."]
    together = zoo.predict(trained / "checkpoints" / "last", sentences, num_beams=1)
    assert [p["input"] for p in together] == sentences
    alone = [zoo.predict(trained / "checkpoints" / "last", [s], num_beams=1)[0] for s in reversed(sentences)]
    assert [p["translation"] for p in together] == [p["translation"] for p in reversed(alone)]


def test_predict_rejects_empty_and_too_long_sentences_in_one_line(trained: Path) -> None:
    with pytest.raises(ConfigError, match="input 2 is an empty sentence"):
        zoo.predict(trained / "checkpoints" / "last", ["The dog sleeps.", "  "])
    long = " ".join(["the big dog sees the small cat"] * 20) + "."
    with pytest.raises(ConfigError, match=r"input 1 has \d+ tokens, more than the model's context of 48"):
        zoo.predict(trained / "checkpoints" / "last", [long])
    with pytest.raises(ConfigError, match="needs at least one sentence"):
        zoo.predict(trained / "checkpoints" / "last", [])


def test_training_pairs_longer_than_the_context_are_an_error_unless_skipped(tmp_path: Path) -> None:
    overrides = {**TINY, "task_args.max_length": 10}
    with pytest.raises(ConfigError, match="longer than the model's context of 10 tokens.*task_args.skip_long=true"):
        zoo.train(task="nlp", problem="translation", output=tmp_path / "a", overrides=overrides)
    with pytest.warns(UserWarning, match="left out .* pairs longer than 10 tokens"):
        result = zoo.train(task="nlp", problem="translation", output=tmp_path / "b",
                           overrides={**overrides, "task_args.skip_long": True, "trainer.max_steps": 1})
    assert "val/bleu" in result.metrics


def test_samples_and_report(trained: Path, tmp_path: Path) -> None:
    from zoo.samples import write_samples

    paths = write_samples("nlp", tmp_path / "samples", count=5, problem="translation",
                          overrides=["data.args.num_train=240", "data.args.num_val=24"])
    lines = paths[0].read_text().splitlines()
    references = json.loads((tmp_path / "samples" / "references.json").read_text())["sources.txt"]
    assert paths[0].name == "sources.txt" and len(lines) == len(references) == 5
    metrics, figures = zoo.api.evaluate_with_report(trained / "checkpoints" / "last", report=tmp_path / "report")
    text = figures[0].read_text()
    assert figures[0].name == "translations.md" and "| chrF | source | output | word for word | reference |" in text
    assert f"BLEU {metrics['val/bleu']:.2f}" in text and "tok:13a" in text
    assert len([line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]) == 24


def test_torchscript_export_of_the_forward_matches_pytorch(trained: Path, tmp_path: Path) -> None:
    from zoo.export import export

    exported = export(trained / "checkpoints" / "last", "torchscript", tmp_path / "marian.pt")
    assert exported.max_abs_diff is not None and exported.max_abs_diff < 1e-4
    assert exported.signature.startswith("input_ids (batch, source) int64, attention_mask (batch, source) int64, "
                                         "decoder_input_ids (batch, target) int64 -> logits (batch, target, ")


def test_a_resumed_run_ends_with_the_same_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    overrides = {**TINY, "scheduler.name": "constant", "trainer.checkpoint_every": 2, "task_args.baseline": False}
    straight = zoo.train(task="nlp", problem="translation", output=tmp_path / "straight",
                         overrides={**overrides, "trainer.max_steps": 6})
    zoo.train(task="nlp", problem="translation", output=tmp_path / "resumed",
              overrides={**overrides, "trainer.max_steps": 3})
    resumed = zoo.train(task="nlp", problem="translation", output=tmp_path / "resumed", resume=True,
                        overrides={"trainer.max_steps": 6})
    expected = load_file(str(straight.run_dir / "checkpoints" / "last" / "model.safetensors"))
    actual = load_file(str(resumed.run_dir / "checkpoints" / "last" / "model.safetensors"))
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)


def test_a_local_pretrained_seq2seq_model_fine_tunes_and_predicts_from_the_zoo_checkpoint(tmp_path: Path) -> None:
    """A tiny Marian saved as a hub checkpoint would be (config, weights, a fast tokenizer), read with no hub call."""
    from transformers import PreTrainedTokenizerFast

    from zoo.nlp import toy_language
    from zoo.nlp.seq2seq import marian_tiny
    from zoo.nlp.translation_text import train_tokenizer

    sources, targets = toy_language.pairs("train", num_train=200, num_val=10)
    folder = tmp_path / "tiny-marian"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=train_tokenizer(sources + targets, 300, "bpe"),
                                        pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=48)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    marian_tiny(vocab_size=len(tokenizer), max_length=48).save_pretrained(folder)
    overrides = {**{k: v for k, v in TINY.items() if not k.startswith("model.args")}, "model.pretrained": str(folder),
                 "trainer.max_steps": 2}
    result = zoo.train(task="nlp", model="seq2seq_lm", output=tmp_path / "run", overrides=overrides)
    info = json.loads((result.run_dir / "checkpoints" / "last" / "meta.json").read_text())["info"]
    assert info["pretrained_tokenizer"] == str(folder) and info["hf_config"]["model_type"] == "marian"
    predictions = zoo.predict(result.run_dir / "checkpoints" / "last", ["The dog sleeps.", "We found the fox."])
    assert [p["input"] for p in predictions] == ["The dog sleeps.", "We found the fox."]
    with pytest.raises(ConfigError, match="reads no model.pretrained; use model seq2seq_lm"):
        zoo.train(task="nlp", problem="translation", output=tmp_path / "wrong", overrides=overrides)
