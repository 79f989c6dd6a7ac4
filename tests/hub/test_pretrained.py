"""pretrained= on registered models: ImageNet-shaped builds, head re-initialisation, mismatches, unsafe files."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pathlib
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch

import zoo
from zoo import checkpoint
from zoo.errors import HeadReinitializedWarning, UnsafeFileError, WeightsMismatchError
from zoo.hub import catalog, download
from zoo.hub.catalog import write_catalog
from zoo.hub.safety import safe_extract, safe_torch_load


def _serve_locally(entry: catalog.CheckpointEntry, state_file: Path, tmp_path: Path, monkeypatch, **changes) -> None:
    """Stand in for the upstream host: the same entry, pointing at a local file with its real sha256."""
    digest = hashlib.sha256(state_file.read_bytes()).hexdigest()
    local = dataclasses.replace(entry, sources=(str(state_file),), sha256=digest, sha256_prefix="", **changes)
    path = tmp_path / "catalog.json"
    write_catalog(path, [local])
    monkeypatch.setenv("ZOO_CATALOG", str(path))


@pytest.fixture
def imagenet_resnet18(tmp_path, monkeypatch) -> dict[str, torch.Tensor]:
    """torchvision's ResNet-18 architecture with random weights, published as the imagenet1k_v1 entry is."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    state = resnet18().state_dict()
    entry = catalog.get_checkpoint("vision/resnet18.imagenet1k_v1")
    file = tmp_path / entry.file_name
    torch.save(state, file)
    _serve_locally(entry, file, tmp_path, monkeypatch)
    return state


def test_builtin_resnet_entry_builds_the_imagenet_architecture(imagenet_resnet18):
    model = zoo.build_model("vision", "resnet18", pretrained="imagenet1k_v1")
    assert model.fc.out_features == 1000 and model.conv1.kernel_size == (7, 7)
    for key, value in imagenet_resnet18.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_another_class_count_reinitialises_the_head_with_a_warning(imagenet_resnet18):
    with pytest.warns(HeadReinitializedWarning, match=r"fc\.weight.*1000 outputs in the checkpoint and 10"):
        model = zoo.build_model("vision", "resnet18", pretrained=True, num_classes=10)
    assert model.fc.out_features == 10
    assert torch.equal(model.layer4[1].conv2.weight, imagenet_resnet18["layer4.1.conv2.weight"])


def test_any_other_mismatch_is_an_error_naming_the_keys(imagenet_resnet18):
    with pytest.raises(WeightsMismatchError, match=r"conv1\.weight \(64, 3, 7, 7\) vs \(64, 3, 3, 3\)"):
        zoo.build_model("vision", "resnet18", pretrained=True, small_input=True)


def test_unknown_tags_and_models_without_checkpoints_are_clear():
    with pytest.raises(zoo.errors.UnknownNameError, match="Did you mean 'imagenet1k_v1'"):
        zoo.build_model("vision", "resnet18", pretrained="imagenet1k_v3")
    with pytest.raises(zoo.errors.CatalogError, match="no pretrained checkpoint for vision/small_cnn"):
        zoo.build_model("vision", "small_cnn", pretrained=True)


def test_default_tags_follow_the_library():
    assert catalog.resolve_pretrained("vision", "resnet50", True).tag == "imagenet1k_v2"
    assert catalog.resolve_pretrained("vision", "vit", True).tag == "b_16_imagenet1k_v1"
    assert catalog.resolve_pretrained("vision", "resnet50", "vision/resnet50.imagenet1k_v1").tag == "imagenet1k_v1"


class _Payload:
    """Unpickling this creates a file: the side effect a malicious checkpoint would have."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)


def _malicious(file: Path, marker: Path) -> Path:
    torch.save({"conv1.weight": torch.zeros(1), "payload": _Payload(marker)}, file)
    return file


def test_a_malicious_pickle_does_not_run(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    entry = catalog.get_checkpoint("vision/resnet18.imagenet1k_v1")
    _serve_locally(entry, _malicious(tmp_path / entry.file_name, marker), tmp_path, monkeypatch)
    with pytest.raises(UnsafeFileError, match="refused"):
        zoo.build_model("vision", "resnet18", pretrained=True)
    with pytest.raises(UnsafeFileError):
        safe_torch_load(tmp_path / entry.file_name)
    run = tmp_path / "step"
    run.mkdir()
    _malicious(run / checkpoint.STATE_FILE, marker)
    with pytest.raises(UnsafeFileError):
        checkpoint.load_trainer_state(run)
    assert not marker.exists()


def _tar(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("link")
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
    return path


@pytest.mark.parametrize("name", ["../evil", "/tmp/evil", "a/../../evil"])
def test_archives_cannot_write_outside_their_folder(tmp_path, name):
    with pytest.raises(UnsafeFileError, match="outside"):
        safe_extract(_tar(tmp_path / "a.tar.gz", {name: b"x"}), tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr(name, b"x")
    with pytest.raises(UnsafeFileError, match="outside"):
        safe_extract(tmp_path / "a.zip", tmp_path / "out2")
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()


def test_archive_links_are_refused(tmp_path):
    with pytest.raises(UnsafeFileError, match="link"):
        safe_extract(_tar(tmp_path / "a.tar.gz", {"ok": b"x"}, link="/etc/passwd"), tmp_path / "out")


def test_an_archived_checkpoint_is_extracted_and_loaded(site, tmp_path, monkeypatch):
    entry = catalog.read_catalog(site / "catalog.json")[0]
    weights = (site / entry.relpath).read_bytes()
    archive = _tar(tmp_path / "small_cnn.tar.gz", {"weights/model.safetensors": weights})
    _serve_locally(entry, archive, tmp_path, monkeypatch, file_name="small_cnn.tar.gz", size=archive.stat().st_size,
                   archive="tar.gz", member="weights/model.safetensors")
    path = download.fetch(catalog.get_checkpoint(entry.name), progress=False)
    assert path.name == "model.safetensors" and path.read_bytes() == weights
    zoo.build_model("vision", "small_cnn", pretrained="tiny")


@pytest.mark.parametrize("member", ["../../../outside/model.safetensors", "/etc/passwd", "a/../../x", "..\\x", "C:/x"])
def test_a_catalog_member_outside_the_archive_is_refused_by_the_schema(site, member):
    entry = catalog.read_catalog(site / "catalog.json")[0]
    data = {**entry.to_json(), "file_name": "w.zip", "archive": "zip", "member": member}
    with pytest.raises(zoo.errors.CatalogError, match="member"):
        catalog.entry_from_json(data)


def test_an_archive_member_never_loads_a_file_outside_the_cache(site, tmp_path, monkeypatch):
    """A clean zip with a correct sha256 and a member naming a file elsewhere: that file is never returned."""
    entry = catalog.read_catalog(site / "catalog.json")[0]
    weights = (site / entry.relpath).read_bytes()
    archive = tmp_path / "clean.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model.safetensors", weights)
    outside = tmp_path / "elsewhere" / "model.safetensors"
    outside.parent.mkdir()
    outside.write_bytes(weights)
    _serve_locally(entry, archive, tmp_path, monkeypatch, file_name="clean.zip", size=archive.stat().st_size,
                   archive="zip", member="model.safetensors")
    good = catalog.get_checkpoint(entry.name)
    download.fetch(good, progress=False)
    # The schema refuses such a member; an entry made in code bypasses it and is refused when resolved.
    evil = dataclasses.replace(good, member=str(Path("..") / ".." / ".." / outside.relative_to("/")))
    with pytest.raises(UnsafeFileError, match="outside"):
        download.fetch(evil, progress=False)
    linked = dataclasses.replace(good, member="link.safetensors")
    folder = download.cache.path_for(good).with_name("clean.zip.d")
    (folder / "link.safetensors").symlink_to(outside)
    with pytest.raises(UnsafeFileError, match="outside"):
        download.fetch(linked, progress=False)


def test_an_extracted_member_changed_after_extraction_is_extracted_again(site, tmp_path, monkeypatch):
    entry = catalog.read_catalog(site / "catalog.json")[0]
    weights = (site / entry.relpath).read_bytes()
    archive = _tar(tmp_path / "small_cnn.tar.gz", {"weights/model.safetensors": weights})
    _serve_locally(entry, archive, tmp_path, monkeypatch, file_name="small_cnn.tar.gz", size=archive.stat().st_size,
                   archive="tar.gz", member="weights/model.safetensors")
    path = download.fetch(catalog.get_checkpoint(entry.name), progress=False)
    path.write_bytes(b"tampered" + weights[8:])  # same size, new time: no hash covers these bytes any more
    again = download.fetch(catalog.get_checkpoint(entry.name), progress=False)
    assert again == path and path.read_bytes() == weights
