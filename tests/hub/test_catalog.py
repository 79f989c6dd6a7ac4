"""The catalog: built-in entries generated from upstream metadata, user catalogs, schema checks, light listing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import zoo
from tests.hub.conftest import NAME
from zoo import registry
from zoo.errors import CatalogError
from zoo.hub import catalog


def test_the_builtin_catalog_is_what_the_generator_writes_now():
    from zoo.upstream import generate, library_versions

    saved = json.loads(catalog.BUILTIN.read_text())
    if saved["libraries"] != library_versions():
        pytest.skip(f"catalog made with {saved['libraries']}, installed {library_versions()}: "
                    "run python scripts/build_catalog.py with the pinned versions")
    assert saved == json.loads(json.dumps(generate())), "run python scripts/build_catalog.py"


def test_builtin_entries_fit_registered_models_and_carry_their_metadata():
    entries = [e for e in catalog.list_checkpoints("vision")  # other problems' entries are checked in their own tests
               if registry.get_model_entry(e.task, e.model).problem == "classification"]
    assert {"vision/resnet18.imagenet1k_v1", "vision/resnet50.imagenet1k_v2", "vision/mobilenet_v3_small.imagenet1k_v1",
            "vision/vit.b_16_imagenet1k_v1"} <= {e.name for e in entries}
    for entry in entries:
        registry.get_model_entry(entry.task, entry.model)
        assert entry.sources[0].startswith("https://download.pytorch.org/models/"), entry.name
        assert entry.sha256_prefix and entry.sha256_prefix in entry.file_name and not entry.sha256
        assert entry.params > 1_000_000 and len(entry.labels) == 1000 and entry.license and entry.recipe
        assert {m.metric for m in entry.metrics} == {"top1", "top5"} and all(0 < m.value < 1 for m in entry.metrics)
        assert entry.preprocessing["image_size"] >= 224 and entry.builder_args["num_classes"] == 1000
        assert entry.head and "torchvision" in entry.library


def test_list_models_pretrained_names_the_checkpoints():
    models = {(m.task, m.name): m for m in zoo.list_models(pretrained=True)}
    assert ("vision", "small_cnn") not in models
    assert models["vision", "resnet50"].checkpoints == ("vision/resnet50.imagenet1k_v1", "vision/resnet50.imagenet1k_v2")
    assert [m.name for m in zoo.list_models("vision", pattern="resnet*", pretrained=True)] == \
        ["resnet18", "resnet34", "resnet50"]


def test_user_catalogs_add_and_replace_entries(site, monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_CATALOG", str(site / "catalog.json"))
    entry = catalog.get_checkpoint(NAME)
    assert entry.origin == str(site.resolve()) and entry.sha256 and entry.labels
    assert "small_cnn" in {m.name for m in zoo.list_models(pretrained=True)}
    override = tmp_path / "override.json"
    catalog.write_catalog(override, [catalog.CheckpointEntry(**{
        **{f: getattr(entry, f) for f in ("file_name", "sources", "format", "sha256")},
        "name": NAME, "description": "a newer build"})])
    catalog.add_catalog(override)
    assert catalog.get_checkpoint(NAME).description == "a newer build"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sha265": "x"}, "Did you mean 'sha256'"),
        ({"name": "resnet18"}, "not task/model.tag"),
        ({"sha256": "abc"}, "needs sha256"),
        ({"sha256": ""}, "publisher gives no hash, verify: weights"),
        ({"verify": "md5"}, "verify 'md5' is not one of sha256, weights"),
        ({"verify": "weights"}, "verify 'weights' is for files without a published hash: drop sha256"),
        ({"verify": "weights", "sha256": "", "archive": "zip", "member": "w"}, "not an archive"),
        ({"format": "pickle"}, "format 'pickle'"),
        ({"file_name": "../x"}, "plain file name"),
        ({"labels": "imagenet-21k"}, "label set 'imagenet-21k'"),
    ],
)
def test_bad_entries_are_rejected_with_the_reason(tmp_path, change, message):
    good = {"name": "vision/resnet18.x", "file_name": "w.safetensors", "sources": ["w.safetensors"],
            "format": "safetensors", "sha256": "a" * 64}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"format": catalog.FORMAT, "checkpoints": [{**good, **change}]}))
    with pytest.raises(CatalogError, match=message):
        catalog.read_catalog(path)


def test_a_missing_or_foreign_catalog_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CATALOG", str(tmp_path / "nope.json"))
    with pytest.raises(CatalogError, match="does not exist"):
        catalog.list_checkpoints()
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(CatalogError, match="zoo-catalog/1"):
        catalog.read_catalog(tmp_path / "other.json")


def test_checkpoint_listing_imports_no_torch(site):
    code = (
        "import sys, zoo, zoo.cli\n"
        "assert zoo.list_models(pretrained=True)\n"
        "zoo.cli.main(['checkpoints'])\n"
        "zoo.cli.main(['checkpoints', 'vision', '--json'])\n"
        "heavy = [m for m in ('torch', 'torchvision', 'transformers', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**__import__("os").environ, "ZOO_CATALOG": str(site / "catalog.json")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "vision/resnet18.imagenet1k_v1 *" in result.stdout and NAME in result.stdout
