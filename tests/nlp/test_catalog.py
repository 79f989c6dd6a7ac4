"""Catalog entries of Hugging Face repository snapshots: generated from transformers' pipeline defaults, fetched into
the zoo cache as a folder (weights checked, every file's sha256 pinned), and fine-tuned offline by catalog name."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

import zoo
from tests.nlp.conftest import REVIEWS, write_reviews_csv
from zoo.errors import CatalogError, HashMismatchError
from zoo.hub import cache, catalog, download, snapshot

NAME = "nlp/pretrained.tiny-bert"


@pytest.fixture
def hosted(tmp_path: Path, local_bert: Path, zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalog whose entry's source is a folder beside it holding a tiny BERT snapshot, with files a snapshot
    leaves out (other frameworks' weights, a README)."""
    site = tmp_path / "site"
    folder = shutil.copytree(local_bert, site / "tiny-bert")
    (folder / "README.md").write_text("# tiny\n")
    (folder / "tf_model.h5").write_bytes(b"not kept")
    entry = catalog.CheckpointEntry(name=NAME, file_name="tiny-bert", sources=("tiny-bert",), format="hf",
                                    verify="weights", builder_args={"checkpoint": NAME})
    catalog.write_catalog(site / "catalog.json", [entry])
    monkeypatch.setenv("ZOO_CATALOG", str(site / "catalog.json"))
    return folder


def test_an_entry_for_each_encoder_pipeline_default_with_its_pinned_revision():
    from transformers.pipelines import SUPPORTED_TASKS

    from zoo.nlp.upstream import transformers_encoders

    entries, label_sets = transformers_encoders({"pretrained"})
    by_name = {e["name"]: e for e in entries}
    assert label_sets == {} and transformers_encoders({"bert_tiny"}) == ([], {})
    chosen = ["text-classification", "zero-shot-classification", "token-classification", "feature-extraction",
              "fill-mask"]
    assert len(entries) == len(chosen)
    for task in chosen:
        repo, revision = SUPPORTED_TASKS[task]["default"]["model"]
        name = f"nlp/pretrained.{repo.split('/')[1].lower()}"
        entry = catalog.entry_from_json(by_name[name])  # the catalog's schema accepts it
        assert entry.sources == (f"hf://{repo}@{revision}",) and entry.format == "hf" and entry.verify == "weights"
        assert entry.builder_args == {} and entry.labels == () and not entry.sha256
        assert task in entry.description and repo in entry.description and revision in entry.description
        assert entry.license == f"see the model card at https://huggingface.co/{repo}"
        assert entry.default == (task == "text-classification")
        built_in = catalog.get_checkpoint(name)  # in the built-in catalog, as generated under the transformers then
        assert built_in == dataclasses.replace(entry, library=built_in.library)
        assert re.fullmatch(rf"transformers \S+ \(pipelines.SUPPORTED_TASKS\['{task}'\] default\)", built_in.library)
    assert catalog.default_checkpoint("nlp", "pretrained").name == \
        "nlp/pretrained.distilbert-base-uncased-finetuned-sst-2-english"


def test_a_snapshot_keeps_config_tokenizer_and_one_set_of_weights():
    names = ["config.json", "tokenizer.json", "vocab.txt", "model.safetensors", "pytorch_model.bin", "tf_model.h5",
             "onnx/model.onnx", "README.md", ".gitattributes", "merges.txt", "spiece.model"]
    assert snapshot.select_files(names) == ["config.json", "merges.txt", "model.safetensors", "spiece.model",
                                            "tokenizer.json", "vocab.txt"]
    assert "pytorch_model.bin" in snapshot.select_files(["config.json", "pytorch_model.bin", "training_args.bin"])
    assert "training_args.bin" not in snapshot.select_files(["config.json", "pytorch_model.bin", "training_args.bin"])
    assert snapshot.parse_source("hf://distilbert/distilroberta-base@fb53ab8") == ("distilbert/distilroberta-base",
                                                                                   "fb53ab8")


def test_an_hf_entry_needs_the_weights_check():
    data = {"name": NAME, "file_name": "tiny-bert", "sources": ["hf://a/b@1"], "format": "hf", "sha256": "a" * 64}
    with pytest.raises(CatalogError, match="format 'hf' .* needs verify: weights"):
        catalog.entry_from_json(data)


def test_fetching_a_snapshot_caches_the_folder_with_every_file_pinned(hosted, no_network):
    entry = catalog.get_checkpoint(NAME)
    folder = download.fetch(entry, progress=False)
    assert folder == cache.path_for(entry) and folder.is_dir()
    assert sorted(p.name for p in folder.iterdir()) == snapshot.select_files(p.name for p in hosted.iterdir())
    assert "tf_model.h5" not in {p.name for p in folder.iterdir()} and (folder / "model.safetensors").is_file()
    record = cache.read_record(folder)
    assert record["pinned"] is True and record["files"]["model.safetensors"]["sha256"] == \
        cache.sha256_file(hosted / "model.safetensors")
    assert cache.is_cached(entry) and download.fetch(entry, progress=False) == folder
    [listed] = cache.list_cached()
    assert listed.name == NAME and listed.pinned and listed.size == record["size"]


def test_a_mirror_folder_serves_the_snapshot(local_bert, zoo_home, tmp_path, monkeypatch, no_network):
    mirror = tmp_path / "mirror"
    shutil.copytree(local_bert, mirror / "nlp" / "pretrained.tiny-bert" / "tiny-bert")
    monkeypatch.setenv("ZOO_MIRROR", str(mirror))
    entry = catalog.CheckpointEntry(name=NAME, file_name="tiny-bert", sources=("hf://zoo-tests/tiny-bert@0123abc",),
                                    format="hf", verify="weights")
    folder = download.fetch(entry, progress=False)
    assert cache.read_record(folder)["source"] == str(mirror / entry.relpath)


@pytest.mark.parametrize(("spoil", "reason"), [
    (lambda f: (f / "model.safetensors").write_bytes(b"<html>502 Bad Gateway</html>"),
     "model.safetensors: it does not load as safetensors weights"),
    (lambda f: (f / "model.safetensors").unlink(), "it holds no weights file"),
    (lambda f: (f / "config.json").unlink(), "it has no config.json"),
], ids=["not-weights", "no-weights", "no-config"])
def test_a_snapshot_that_does_not_load_is_refused_and_nothing_is_cached(hosted, spoil, reason):
    spoil(hosted)
    with pytest.raises(HashMismatchError) as error:
        download.fetch(catalog.get_checkpoint(NAME), progress=False)
    assert reason in str(error.value) and "the snapshot was discarded" in str(error.value)
    assert not cache.root().exists() or not any(cache.root().rglob("*"))


def test_the_pin_finds_a_changed_file_and_a_changed_source(hosted, capsys):
    from zoo.cli import main

    entry = catalog.get_checkpoint(NAME)
    folder = download.fetch(entry, progress=False)
    assert main(["cache", "verify"]) == 0
    assert "ok (the sha256 pinned at its first download)" in capsys.readouterr().out
    changed = folder / "tokenizer_config.json"
    changed.write_text(changed.read_text() + "\n")
    assert not cache.is_cached(entry)
    assert main(["cache", "verify"]) == 1
    assert "CORRUPT: removed; a new download must match the sha256 pinned" in capsys.readouterr().out
    assert not folder.exists() and cache.pinned_sha256(entry)
    source = hosted / "tokenizer_config.json"
    source.write_text(source.read_text() + "\n")  # the source changed too
    with pytest.raises(HashMismatchError, match=r"its files \(tokenizer_config.json\) differ from those pinned"):
        download.fetch(entry, progress=False)
    assert main(["cache", "clear", NAME]) == 0 and not cache.pinned_sha256(entry)
    assert download.fetch(entry, progress=False).is_dir()


def test_fine_tune_by_catalog_name_offline_then_predict_from_the_checkpoint(hosted, tmp_path, no_network):
    csv = write_reviews_csv(tmp_path / "reviews.csv")
    overrides = [
        f"model.pretrained={NAME}", f"data.args.train={csv}", "data.args.text_column=review",
        "data.args.label_column=sentiment", "data.args.val_fraction=0.25", "data.batch_size=9",
        "data.eval_batch_size=8", "trainer.epochs=1", "trainer.progress=false", "trainer.tensorboard=false",
    ]
    result = zoo.train(task="nlp", model="pretrained", dataset="text_files", output=tmp_path / "run",
                       overrides=overrides)
    assert result.summary["steps"] == 2
    info = json.loads((result.best_checkpoint / "meta.json").read_text())["info"]
    assert info["tokenizer_source"] == f"pretrained: {NAME}" and info["hf_config"]["model_type"] == "bert"
    shutil.rmtree(hosted)  # the source is gone: the zoo cache and the run's checkpoint are all that is left
    texts = [text for text, _ in REVIEWS[:2]]
    assert [p["input"] for p in zoo.predict(result.best_checkpoint, texts)] == texts
    model = zoo.build_model("nlp", "pretrained", pretrained="tiny-bert", num_classes=3)
    assert model.classifier.out_features == 3 and model.config.model_type == "bert"


def test_a_snapshot_copied_into_the_cache_by_hand_is_checked_then_used_offline(hosted, monkeypatch):
    from zoo.errors import OfflineError

    entry = catalog.get_checkpoint(NAME)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(OfflineError, match="ZOO_OFFLINE=1 forbids downloading it"):
        download.fetch(entry, progress=False)
    target = shutil.copytree(hosted, cache.path_for(entry))
    assert download.fetch(entry, progress=False) == target
    assert cache.read_record(target)["source"] == "placed in the cache" and cache.is_cached(entry)
