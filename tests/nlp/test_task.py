"""The NLP task end to end: padding, training, evaluating and predicting from the checkpoint, offline fine-tuning."""

import json
import shutil

import pytest
import torch

import zoo
from tests.conftest import run_zoo
from tests.nlp.conftest import REVIEWS, write_reviews_csv
from zoo import recipes
from zoo.cli import main
from zoo.errors import ConfigError
from zoo.nlp.task import PadBatch, TokenizedTexts
from zoo.task import load_task


def test_padding_is_per_batch_and_masked():
    data = TokenizedTexts([[2, 5, 6, 3], [2, 7, 3], [2, 3]], [1, 0, 1])
    batch = PadBatch(pad_token_id=0)([data[1], data[2]])
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [0, 1] and batch["input_ids"].dtype == torch.int64
    assert data.lengths() == [4, 3, 2]


def test_data_carries_everything_a_checkpoint_needs(tiny_nlp):
    task = load_task(recipes.resolve("nlp", overrides=tiny_nlp))
    data = task.build_data(["train", "val"])
    info = data.info
    assert info["classes"] == ["negative", "positive"] and info["num_classes"] == 2
    assert info["max_length"] == 32 and info["pad_token_id"] == 0 and info["vocab_size"] == 1000
    assert json.loads(json.dumps(info)) == info  # plain JSON for meta.json
    assert max(len(data.train[i][0]) for i in range(len(data.train))) <= 32
    assert data.train_lengths is None  # bucketing is off unless task_args.bucket_by_length=true
    bucketed = load_task(recipes.resolve("nlp", overrides=[*tiny_nlp, "task_args.bucket_by_length=true"]))
    lengths = bucketed.build_data(["train"]).train_lengths
    assert lengths == [len(data.train[i][0]) for i in range(len(data.train))]


def test_train_evaluate_and_predict_from_the_checkpoint(tmp_path, tiny_nlp):
    result = zoo.train(task="nlp", output=tmp_path / "run", overrides=[*tiny_nlp, "trainer.epochs=2"])
    best = result.best_checkpoint
    meta = json.loads((best / "meta.json").read_text())
    assert meta["info"]["tokenizer"]["model"]["type"] == "WordPiece"
    metrics = zoo.evaluate(best)
    expected = {k: v for k, v in result.summary["best"].items() if k.startswith("val/")}
    assert metrics == pytest.approx(expected, abs=1e-6) and set(metrics) == {"val/accuracy", "val/f1_macro", "val/loss"}
    predictions = zoo.predict(best, ["The plot was wonderful.", "The acting was not good at all."])
    assert [p["input"] for p in predictions] == ["The plot was wonderful.", "The acting was not good at all."]
    for p in predictions:
        assert p["label"] in ("negative", "positive") and sum(p["probs"].values()) == pytest.approx(1, abs=1e-3)
        assert p["label"] == max(p["probs"], key=p["probs"].get)


def test_missing_checkpoint_for_the_pretrained_model(tiny_nlp):
    config = recipes.resolve("nlp", model="pretrained", dataset="sentiment", overrides=[*tiny_nlp, "model.pretrained="])
    task = load_task(config)
    with pytest.raises(ConfigError, match="set model.pretrained"):
        task.build_data(["train"])


def test_fine_tune_a_local_pretrained_bert_offline_then_use_the_checkpoint_alone(
    tmp_path, local_bert, no_network, tiny_nlp
):
    """A local directory holding a BERT and its tokenizer is fine-tuned on a CSV of real sentences with no network;
    the checkpoint then evaluates and predicts after that directory is gone."""
    csv = write_reviews_csv(tmp_path / "reviews.csv")
    bert = shutil.copytree(local_bert, tmp_path / "bert")
    overrides = [
        f"model.pretrained={bert}", f"data.args.train={csv}", "data.args.text_column=review",
        "data.args.label_column=sentiment", "data.args.val_fraction=0.25", "data.batch_size=6",
        "data.eval_batch_size=8", "optim.lr=0.001", "trainer.epochs=3", "trainer.progress=false",
        "trainer.tensorboard=false", "trainer.log_every=1",
    ]
    result = zoo.train(task="nlp", model="pretrained", dataset="text_files", output=tmp_path / "run",
                       overrides=overrides)
    info = json.loads((result.best_checkpoint / "meta.json").read_text())["info"]
    assert info["classes"] == ["neg", "pos"] and info["hf_config"]["model_type"] == "bert"
    assert info["max_length"] == 48 and info["tokenizer_source"] == f"pretrained: {bert}"
    shutil.rmtree(bert)

    metrics = zoo.evaluate(result.best_checkpoint)
    expected = {k: v for k, v in result.summary["best"].items() if k.startswith("val/")}
    assert metrics == pytest.approx(expected, abs=1e-6)
    texts = [text for text, _ in REVIEWS[:2]]
    predictions = zoo.predict(result.best_checkpoint, texts)
    assert [p["input"] for p in predictions] == texts and all(p["label"] in ("neg", "pos") for p in predictions)
    with pytest.raises(ConfigError, match="evaluate it on data with the same classes"):
        zoo.evaluate(result.best_checkpoint, dataset="sentiment")


def test_cli_predict_reads_texts_from_a_file(tmp_path, tiny_nlp, capsys):
    run = tmp_path / "run"
    zoo.train(task="nlp", output=run, overrides=tiny_nlp)
    texts = tmp_path / "texts.txt"
    texts.write_text("The food was delicious, but the service was slow.\n\nThe room was not clean.\n")
    out = run_zoo("predict", "--checkpoint", str(run), "The pasta was great.", "--file", str(texts)).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 3 and "'The pasta was great.'" in lines[0] and "'The room was not clean.'" in lines[2]
    assert all(line.split()[0] in ("negative", "positive") and "negative 0." in line for line in lines)
    assert main(["predict", "--checkpoint", str(run), "--json", "--file", str(texts)]) == 0
    as_json = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["input"] for line in as_json] == [
        "The food was delicious, but the service was slow.", "The room was not clean."
    ]
    assert main(["predict", "--checkpoint", str(run), "--file", str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_sample_texts_are_one_per_line_with_their_labels(tiny_nlp, tmp_path):
    task = load_task(recipes.resolve("nlp", overrides=tiny_nlp))
    [path] = task.write_samples(tmp_path, 6)
    lines = path.read_text().splitlines()
    labels = json.loads((tmp_path / "references.json").read_text())[path.name]
    val = task.load_split("val")
    truth = dict(zip((" ".join(t.split()) for t in val.texts), (val.classes[i] for i in val.labels)))
    assert len(lines) == len(labels) == 6 and sorted(set(labels)) == sorted(val.classes)
    assert [truth[line] for line in lines] == labels
