"""Text loaders: local files in each format, hub datasets from a datasets cache, the embedded corpus."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.nlp.conftest import REVIEWS, build_hub_cache, write_reviews_csv
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.nlp import corpus
from zoo.nlp import datasets as nlp_datasets

TEXTS = [text for text, _ in REVIEWS]
LABELS = [label for _, label in REVIEWS]


# --- local files -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_each_file_format_reads_the_same_rows(tmp_path, suffix):
    path = tmp_path / f"reviews{suffix}"
    rows = [{"review": t, "sentiment": label} for t, label in REVIEWS]
    if suffix == ".csv":
        write_reviews_csv(path)
    elif suffix == ".tsv":
        path.write_text("review\tsentiment\n" + "".join(f"{t}\t{label}\n" for t, label in REVIEWS), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    args = {"train": str(path), "text_column": "review", "label_column": "sentiment", "val_fraction": 0.25}
    train = nlp_datasets.text_files("train", **args)
    val = nlp_datasets.text_files("val", **args)
    assert train.classes == val.classes == ["neg", "pos"]
    assert len(train.texts) == 18 and len(val.texts) == 6 and not set(train.texts) & set(val.texts)
    assert sorted(train.texts + val.texts) == sorted(TEXTS)
    for split in (train, val):
        assert all(split.classes[y] == LABELS[TEXTS.index(t)] for t, y in zip(split.texts, split.labels))


def test_root_folder_with_train_and_validation_files(tmp_path):
    write_reviews_csv(tmp_path / "train.csv", REVIEWS[:20])
    write_reviews_csv(tmp_path / "validation.csv", REVIEWS[20:])
    args = {"root": str(tmp_path), "text_column": "review", "label_column": "sentiment",
            "label_names": ["pos", "neg"]}
    val = nlp_datasets.text_files("val", **args)
    assert val.texts == TEXTS[20:] and val.classes == ["pos", "neg"] and val.labels == [1, 1, 1, 1]
    assert len(nlp_datasets.text_files("train", **args).texts) == 20


def test_integer_labels_and_class_labels_from_parquet(tmp_path):
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["bad", "good"])}
    )
    path = tmp_path / "train.parquet"
    datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 1]}, features=features).to_parquet(str(path))
    assert nlp_datasets.text_files("train", train=str(path), val=str(path)).classes == ["bad", "good"]
    plain = tmp_path / "ints.jsonl"
    plain.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in [("a", 0), ("b", 2)]))
    assert nlp_datasets.text_files("train", train=str(plain), val=str(plain)).classes == ["0", "1", "2"]
    with pytest.raises(ConfigError, match="only 2 label_names"):
        nlp_datasets.text_files("train", train=str(plain), val=str(plain), label_names=["x", "y"])


def test_file_errors_name_the_fix(tmp_path):
    path = write_reviews_csv(tmp_path / "r.csv")
    with pytest.raises(ConfigError, match="needs data.args.train=PATH"):
        nlp_datasets.text_files("train")
    with pytest.raises(DatasetNotFoundError, match="missing.csv does not exist"):
        nlp_datasets.text_files("train", train=str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match="no text column 'text'; its columns are review, sentiment"):
        nlp_datasets.text_files("train", train=str(path))
    with pytest.raises(ConfigError, match=r"labels \['pos'\] are not in data.args.label_names"):
        nlp_datasets.text_files("train", train=str(path), text_column="review", label_column="sentiment",
                                label_names=["neg", "neutral"])
    with pytest.raises(ConfigError, match="format=csv"):
        nlp_datasets.text_files("train", train=str(path.rename(tmp_path / "r.data")))


def test_an_unreadable_csv_names_the_cause_and_a_repeated_header_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngood film,pos\nbad,line,with,extra\ndull,neg\n")
    with pytest.raises(ConfigError, match="cannot read .*bad.csv as csv: ParserError: .*Expected 2 fields in line 3, "
                                          "saw 4") as caught:
        nlp_datasets.text_files("train", train=str(bad))
    assert "\n" not in str(caught.value) and "DatasetGenerationError" not in str(caught.value)
    joined = tmp_path / "joined.csv"
    joined.write_text("text,label\ngood film,pos\ndull,neg\ntext,label\nfine,pos\n")
    with pytest.raises(ConfigError, match=r"1 row\(s\) repeat the header \('text', 'label'\), the first at row 3"):
        nlp_datasets.text_files("train", train=str(joined))
    short = tmp_path / "short.tsv"
    short.write_text("text\tlabel\ngood film\tpos\ndull\n")
    with pytest.raises(ConfigError, match="short.tsv: row 2 has no label"):
        nlp_datasets.text_files("train", train=str(short))


# --- hub datasets from the datasets cache ----------------------------------------------------------------------------


def _glue_sst2(cache):
    import datasets

    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "positive"]),
                                  "idx": datasets.Value("int32")})
    splits = {
        "train": {"sentence": TEXTS[:16], "label": [int(y == "pos") for y in LABELS[:16]], "idx": list(range(16))},
        "validation": {"sentence": TEXTS[16:], "label": [int(y == "pos") for y in LABELS[16:]], "idx": list(range(8))},
        "test": {"sentence": TEXTS[:4], "label": [-1] * 4, "idx": list(range(4))},
    }
    build_hub_cache(cache, "nyu-mll/glue", "sst2", splits, features)


def test_hub_dataset_loads_offline_from_the_datasets_cache(tmp_path, no_network):
    cache = tmp_path / "hf-datasets"
    _glue_sst2(cache)
    train = nlp_datasets.sst2("train", root=str(cache))
    val = nlp_datasets.sst2("val", root=str(cache))
    assert train.texts == TEXTS[:16] and val.texts == TEXTS[16:]
    assert train.classes == ["negative", "positive"]
    assert [train.classes[y][:3] for y in train.labels] == LABELS[:16]
    with pytest.raises(ConfigError, match="Valid splits: train, val"):
        nlp_datasets.sst2("test", root=str(cache))


def test_hub_dataset_not_cached_says_how_to_get_it(tmp_path, no_network):
    with pytest.raises(DatasetNotFoundError) as error:
        nlp_datasets.imdb("train", root=str(tmp_path / "empty"))
    message = str(error.value)
    assert "stanfordnlp/imdb" in message and "data.args.download=true" in message and "empty" in message


def test_every_hub_dataset_is_registered():
    from zoo import registry

    for name, spec in nlp_datasets.HUB.items():
        entry = registry.get_dataset_entry("nlp", name)
        assert entry.num_classes == len(spec.classes) and spec.repo in entry.description
        assert {"train", "val"} <= set(spec.splits)


# --- the embedded corpus ---------------------------------------------------------------------------------------------


def test_corpus_is_deterministic_balanced_and_held_out():
    train = nlp_datasets.sentiment("train", num_train=2000, num_val=400)
    again = nlp_datasets.sentiment("train", num_train=2000, num_val=400)
    val = nlp_datasets.sentiment("val", num_train=2000, num_val=400)
    assert train.texts == again.texts and train.labels == again.labels
    assert sum(train.labels) == 1000 and 150 < sum(val.labels) < 250
    assert len(val.texts) == 400 and not set(val.texts) & set(train.texts)
    assert nlp_datasets.sentiment("val", num_train=2000, num_val=400, seed=1).texts != val.texts


@pytest.mark.parametrize(("weights", "flips"), [((1, 0, 0), False), ((0, 1, 0), True), ((0, 0, 1), False)],
                         ids=["plain", "negated", "tricky"])
def test_corpus_clauses_carry_their_sentiment(monkeypatch, weights, flips):
    import random

    monkeypatch.setattr(corpus, "FRAME_WEIGHTS", weights)
    rng = random.Random(0)
    for positive in [True, False] * 50:
        clause = corpus._clause(rng, rng.choice(list(corpus.ASPECTS)), positive)
        words = set(clause.split())
        assert bool(words & set(corpus.POSITIVE)) == (positive != flips), clause
        assert bool(words & set(corpus.NEGATIVE)) == (positive == flips), clause


def test_corpus_is_quick_to_generate():
    import time

    start = time.perf_counter()
    corpus.generate(5000, seed=123)
    assert time.perf_counter() - start < 2.0


def test_unknown_corpus_split():
    with pytest.raises(ConfigError, match="Valid splits: train, val, test"):
        nlp_datasets.sentiment("dev")


def test_a_small_corpus_gets_an_embedding_table_of_the_pieces_it_learned(tmp_path):
    """The sentiment recipe's 1,000 rows meet 24 reviews: the model gets the rows its tokenizer learned, said at the
    start and saved in the config; pinned on the command line, the recipe's size stays."""
    import io

    import torch

    from zoo import fit, recipes
    from zoo.task import load_task

    write_reviews_csv(tmp_path / "reviews.csv")
    data_args = [f"data.args.train={tmp_path / 'reviews.csv'}", "data.args.text_column=review",
                 "data.args.label_column=sentiment", "data.args.val_fraction=0.25"]

    def build(*overrides: str):
        config = recipes.resolve("nlp", model="bert_tiny", dataset="text_files", overrides=[*data_args, *overrides])
        fit.pin(config, overrides)
        task = load_task(config)
        data = task.build_data(["train", "val"])
        printed = io.StringIO()
        fit.fit_run(config, data, torch.device("cpu"), out=printed)
        return config, task.build_model(data.info), printed.getvalue()

    config, model, printed = build()
    learned = model.get_input_embeddings().num_embeddings
    assert 0 < learned < 1000 and config.task_args["vocab_size"] == learned
    assert f"adapted: task_args.vocab_size 1000 -> {learned} (the wordpiece tokenizer learned {learned} pieces" in printed
    config, model, printed = build("task_args.vocab_size=1000")
    assert model.get_input_embeddings().num_embeddings == 1000 and "vocab_size" not in printed
