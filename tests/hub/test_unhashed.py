"""Upstream files without a published hash (``verify: weights``): kept only if they load as weights, then pinned."""

from __future__ import annotations

import dataclasses
import pathlib
from pathlib import Path

import pytest
import torch

from tests.hub.server import LoopbackServer
from zoo.errors import DownloadError, HashMismatchError, OfflineError
from zoo.hub import cache, catalog, download

NAME = "vision/small_cnn.unhashed"
FILE = "weights.pth"


def _weights(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {"conv.weight": torch.randn(16, 3, 3, 3), "conv.bias": torch.randn(16), "fc.weight": torch.randn(4, 64)}


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    """A host serving ``weights.pth`` with no hash anywhere, and a catalog entry saying so."""
    folder = tmp_path / "upstream"
    folder.mkdir()
    torch.save(_weights(), folder / FILE)
    served = LoopbackServer(folder)
    entry = catalog.CheckpointEntry(name=NAME, file_name=FILE, sources=(served.url(FILE),), format="pth",
                                    verify="weights")
    catalog.write_catalog(tmp_path / "catalog.json", [entry])
    monkeypatch.setenv("ZOO_CATALOG", str(tmp_path / "catalog.json"))
    yield served, folder / FILE
    served.close()


def test_the_entry_needs_no_hash_and_says_what_is_checked_instead(upstream):
    entry = catalog.get_checkpoint(NAME)
    assert entry.verify == "weights" and not entry.sha256 and not entry.sha256_prefix
    assert entry.to_json()["verify"] == "weights" and "verify" not in dataclasses.replace(
        entry, verify="sha256", sha256="a" * 64).to_json()
    assert entry.hash_check == "no published hash: loads as weights, sha256 pinned"
    assert "no published hash" in repr(catalog.list_checkpoints(model="small_cnn")).splitlines()[2]


def test_a_download_that_loads_as_weights_is_cached_with_its_sha256_pinned(upstream):
    server, file = upstream
    entry = catalog.get_checkpoint(NAME)
    path = download.fetch(entry, progress=False)
    record = cache.read_record(path)
    assert record["sha256"] == cache.sha256_file(file) and record["pinned"] is True
    assert record["source"] == server.url(FILE) and cache.is_cached(entry)
    assert download.fetch(entry, progress=False) == path and len(server.state.gets(FILE)) == 1


class _Payload:
    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda f, m: f.write_bytes(f.read_bytes()[: f.stat().st_size // 2]), "does not load as pth weights"),
        (lambda f, m: f.write_text("<html><body>503 Service Unavailable</body></html>"), "not a file torch.save"),
        (lambda f, m: torch.save({"w": torch.zeros(2), "x": _Payload(m)}, f), "refused: loading it would run code"),
        (lambda f, m: torch.save({"epoch": 3}, f), "holds int 'epoch', not only tensors"),
        (lambda f, m: f.write_bytes(b""), "it is empty"),
    ],
    ids=["truncated", "error-page", "code", "not-tensors", "empty"],
)
def test_a_download_that_is_not_weights_is_refused_and_not_cached(upstream, tmp_path, make, reason):
    _, file = upstream
    marker = tmp_path / "pwned"
    make(file, marker)
    with pytest.raises(HashMismatchError) as error:
        download.fetch(catalog.get_checkpoint(NAME), progress=False)
    message = str(error.value)
    assert reason in message and "the file was discarded" in message and "\n" not in message
    assert not marker.exists()
    assert not cache.root().exists() or not any(cache.root().rglob("*"))


def test_safetensors_files_get_the_same_check(tmp_path):
    from safetensors.torch import save_file

    file = tmp_path / "model.safetensors"
    save_file(_weights(), str(file))
    entry = catalog.CheckpointEntry(name="vision/small_cnn.st", file_name=file.name, sources=(str(file),),
                                    format="safetensors", verify="weights")
    whole = file.read_bytes()
    file.write_bytes(whole[:-8])
    with pytest.raises(HashMismatchError, match="does not load as safetensors weights: .*incomplete"):
        download.fetch(entry, progress=False)
    assert not cache.is_cached(entry) and not cache.path_for(entry).exists()
    file.write_bytes(whole)
    assert download.fetch(entry, progress=False).read_bytes() == whole and cache.is_cached(entry)


def test_a_short_read_is_retried_and_resumed_before_the_weights_check(upstream):
    server, file = upstream
    entry = catalog.get_checkpoint(NAME)
    server.state.cut_next = 1  # the server announced the full length and closed the connection at half
    with pytest.raises(DownloadError, match="gave up"):
        download.fetch(entry, progress=False, retries=0)
    assert not cache.path_for(entry).exists() and not cache.is_cached(entry)
    path = download.fetch(entry, progress=False)
    assert server.state.gets(FILE)[-1].range == f"bytes={file.stat().st_size // 2}-"
    assert cache.read_record(path)["sha256"] == cache.sha256_file(file)


def test_cache_verify_finds_a_changed_file_and_the_pin_outlives_it(upstream, capsys):
    from zoo.cli import main

    _, file = upstream
    entry = catalog.get_checkpoint(NAME)
    assert main(["download", NAME, "--no-progress"]) == 0
    assert main(["cache", "verify"]) == 0
    assert ": ok (the sha256 pinned at its first download)" in capsys.readouterr().out
    path = cache.path_for(entry)
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    assert main(["cache", "verify"]) == 1
    assert "CORRUPT: removed; a new download must match the sha256 pinned" in capsys.readouterr().out
    assert not path.exists() and cache.pinned_sha256(entry) == cache.sha256_file(file)
    torch.save(_weights(seed=1), file)  # upstream now serves another file under the same name
    with pytest.raises(HashMismatchError, match=f"pinned when the file was first downloaded.*cache clear {NAME}"):
        download.fetch(entry, progress=False)
    assert main(["cache", "clear", NAME]) == 0 and cache.pinned_sha256(entry) == ""
    assert cache.read_record(download.fetch(entry, progress=False))["sha256"] == cache.sha256_file(file)


def test_a_load_does_not_trust_a_changed_file_and_fetches_the_pinned_one_again(upstream, capsys):
    server, file = upstream
    entry = catalog.get_checkpoint(NAME)
    path = download.fetch(entry, progress=False)
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    assert download.fetch(entry, progress=False) == path and path.read_bytes() == original
    assert "differs from" in capsys.readouterr().err and len(server.state.gets(FILE)) == 2
    path.touch()  # the same bytes with a new time: hashed against the pin and kept, nothing downloaded
    assert download.fetch(entry, progress=False) == path and len(server.state.gets(FILE)) == 2


def test_a_file_placed_in_the_cache_by_hand_gets_the_weights_check(upstream, monkeypatch, capsys):
    _, file = upstream
    entry = catalog.get_checkpoint(NAME)
    target = cache.path_for(entry)
    target.parent.mkdir(parents=True)
    target.write_bytes(file.read_bytes()[:100])
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(OfflineError):
        download.fetch(entry, progress=False)
    assert "was not used: it does not load as pth weights" in capsys.readouterr().err
    assert cache.read_record(target) is None
    target.write_bytes(file.read_bytes())
    assert download.fetch(entry, progress=False) == target
    assert cache.read_record(target)["source"] == "placed in the cache" and cache.is_cached(entry)
