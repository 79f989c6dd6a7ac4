"""Publishing a run (weights, card, catalog entry), exporting to ONNX and TorchScript, hubconf, verification."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from safetensors.torch import load_file

import zoo
from tests.conftest import REPO
from tests.hub.conftest import NAME
from zoo.errors import CheckpointError, ConfigError
from zoo.hub import catalog
from zoo.export import export
from zoo.publish import publish


def test_publish_writes_slim_weights_a_card_and_a_catalog_entry(site, trained_run):
    folder = site / "vision" / "small_cnn.tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "card.json", "model.safetensors", "recipe.yaml"]
    entry = catalog.read_catalog(site / "catalog.json")[0]
    assert entry.name == NAME and entry.sha256 == catalog_sha(folder / "model.safetensors")
    meta = json.loads((trained_run / "checkpoints" / "best" / "meta.json").read_text())
    assert meta["inference_weights"] == "ema"  # the EMA weights were chosen by default
    ema = load_file(str(trained_run / "checkpoints" / "best" / "ema.safetensors"))
    published = load_file(str(folder / "model.safetensors"))
    assert published.keys() == ema.keys() and all(torch.equal(published[k], ema[k]) for k in ema)
    card = json.loads((folder / "card.json").read_text())
    assert card["weights"] == "ema" and card["intended_use"] and card["data"]["name"] == "shapes"
    assert {m["metric"] for m in card["metrics"]} >= {"top1", "top5"} and card["license"] == "Apache-2.0"
    assert entry.builder_args["width"] == 8 and entry.head == ("23.",)
    assert entry.labels == tuple(meta["info"]["classes"])
    readme = (folder / "README.md").read_text()
    assert "| shapes | val | top1 |" in readme and entry.sha256 in readme and "pretrained=\"tiny\"" in readme


def catalog_sha(path) -> str:
    from zoo.hub.cache import sha256_file

    return sha256_file(path)


def test_publish_merges_into_an_existing_catalog_and_checks_names(trained_run, site, tmp_path):
    out = tmp_path / "site"
    publish(trained_run, NAME, out)
    publish(trained_run, "vision/small_cnn.raw", out, weights="model", base_url="https://zoo.example/models")
    entries = {e.name: e for e in catalog.read_catalog(out / "catalog.json")}
    assert set(entries) == {NAME, "vision/small_cnn.raw"}
    assert entries["vision/small_cnn.raw"].sources[1] == \
        "https://zoo.example/models/vision/small_cnn.raw/model.safetensors"
    with pytest.raises(ConfigError, match="holds a vision/small_cnn model"):
        publish(trained_run, "vision/resnet18.tiny", out)
    with pytest.raises(ConfigError, match="task/model.tag"):
        publish(trained_run, "small_cnn", out)


def test_publish_to_the_hub_without_credentials_says_how_to_log_in(trained_run, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        publish(trained_run, NAME, tmp_path / "out", hub_repo="me/zoo-small-cnn")


def test_publish_ema_of_a_run_without_ema_is_an_error(tmp_path, trained_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run / "checkpoints" / "best", run, symlinks=True)
    (run / "ema.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no ema weights"):
        publish(run, NAME, tmp_path / "out", weights="ema")


def test_onnx_export_of_a_trained_vision_model_matches_pytorch(trained_run, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    done = export(trained_run, "onnx", tmp_path / "model.onnx")
    assert done.path.is_file() and done.checked_with.startswith("onnxruntime")
    assert done.max_abs_diff is not None and done.max_abs_diff < 1e-4
    print(f"ONNX max abs diff {done.max_abs_diff:.3g}")


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated in torch 2.14, still exported
def test_torchscript_export_matches_pytorch(trained_run, tmp_path, capsys):
    from zoo.cli import main

    assert main(["export", "--checkpoint", str(trained_run), "--format", "torchscript",
                 "--out", str(tmp_path / "m.pt")]) == 0
    assert "max abs diff" in capsys.readouterr().out
    reloaded = torch.jit.load(str(tmp_path / "m.pt"))
    assert reloaded(torch.randn(3, 3, 32, 32)).shape == (3, 10)


def test_hubconf_loads_catalog_weights_through_torch_hub(site, monkeypatch):
    monkeypatch.setenv("ZOO_CATALOG", str(site / "catalog.json"))
    model = torch.hub.load(str(REPO), "small_cnn", source="local", pretrained="tiny", trust_repo=True)
    expected = zoo.build_model("vision", "small_cnn", pretrained="tiny")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), expected.state_dict().values()))
    fresh = torch.hub.load(str(REPO), "vision_resnet18", source="local", num_classes=7, small_input=True)
    assert fresh.fc.out_features == 7


def test_verify_checkpoints_reproduces_the_recorded_metrics(site, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("verify_checkpoints", REPO / "scripts" / "verify_checkpoints.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setenv("ZOO_CATALOG", str(site / "catalog.json"))
    result = script.verify(catalog.get_checkpoint(NAME), "cpu", 1e-4)
    assert result["status"] == "verified", result
    docs = tmp_path / "doc.md"
    docs.write_text(f"intro\n{script.START}\nold\n{script.END}\nend\n")
    script.update_docs(docs, [result])
    text = docs.read_text()
    assert f"| `{NAME}` | shapes | val | top1 |" in text and "old" not in text and text.endswith("end\n")


def test_the_model_card_summarises_preprocessing_too_long_to_read():
    from zoo.publish import _preprocessing_lines

    lines = _preprocessing_lines({"mean": [0.5], "tokenizer": "x" * 5000, "user_ids": [str(i) for i in range(900)]})
    assert lines.splitlines() == ["- mean: `[0.5]`", "- tokenizer: str of 5,002 characters",
                                  "- user_ids: list of 900 entries"]
