"""Downloads from a loopback HTTP server: verified, cached, locked, resumed, offline, mirrored."""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
import sys
import time

import pytest
import torch

import zoo
from tests.conftest import REPO
from tests.hub.conftest import NAME
from zoo.errors import DownloadError, HashMismatchError, OfflineError
from zoo.hub import cache, catalog, download

WEIGHTS = "model.safetensors"


def test_a_published_checkpoint_downloads_verifies_caches_and_loads(served_catalog, server, trained_run, site):
    entry = catalog.get_checkpoint(NAME)
    assert entry.origin == server.base + "/"  # relative sources resolve against the served catalog
    model = zoo.build_model("vision", "small_cnn", pretrained="tiny")
    path = cache.path_for(entry)
    assert cache.is_cached(entry) and cache.sha256_file(path) == entry.sha256
    assert path.read_bytes() == (site / entry.relpath).read_bytes()
    loaded = zoo.load(trained_run)  # the run's own inference (EMA) weights
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    zoo.build_model("vision", "small_cnn", pretrained=True)  # the only tag is the default; served from the cache
    assert len(server.state.gets(WEIGHTS)) == 1


def test_processes_waiting_on_the_lock_do_not_download_again(served_catalog, server, tmp_path):
    server.state.delay_s = 0.6
    go = tmp_path / "go"
    code = (
        "import sys, time, pathlib\n"
        "from zoo.hub import catalog, download\n"
        "entry = catalog.get_checkpoint(sys.argv[1])\n"
        "pathlib.Path(sys.argv[2]).touch()\n"
        "while not pathlib.Path(sys.argv[3]).exists(): time.sleep(0.005)\n"
        "print(download.fetch(entry, progress=False))\n"
    )
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    procs = [
        subprocess.Popen([sys.executable, "-c", code, NAME, str(r), str(go)], cwd=REPO, env=os.environ.copy(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in ready
    ]
    deadline = time.time() + 60
    while not all(r.exists() for r in ready) and time.time() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    paths = {out.strip() for out, _ in outputs}
    assert paths == {str(cache.path_for(catalog.get_checkpoint(NAME)))}
    assert len(server.state.gets(WEIGHTS)) == 1
    assert any("waiting for another process" in err for _, err in outputs)


def test_a_download_cut_at_half_resumes_and_transfers_only_the_rest(served_catalog, server):
    entry = catalog.get_checkpoint(NAME)
    server.state.cut_next = 1
    path = download.fetch(entry, progress=False, backoff_s=0.01)
    first, second = server.state.gets(WEIGHTS)
    assert first.range is None and first.sent == entry.size // 2
    assert second.range == f"bytes={entry.size // 2}-"
    assert server.state.sent(WEIGHTS) == entry.size
    assert cache.sha256_file(path) == entry.sha256


def test_a_restarted_process_resumes_the_partial_file(served_catalog, server):
    entry = catalog.get_checkpoint(NAME)
    server.state.cut_next = 1
    with pytest.raises(DownloadError, match="gave up"):
        download.fetch(entry, progress=False, retries=0)
    partial = cache.partial_for(entry)
    assert partial.stat().st_size == entry.size // 2 and not cache.path_for(entry).exists()
    download.fetch(entry, progress=False)  # a new call, as after a restart
    assert server.state.sent(WEIGHTS) == entry.size and not partial.exists()
    assert server.state.gets(WEIGHTS)[-1].range == f"bytes={entry.size // 2}-"


def test_a_wrong_hash_fails_and_leaves_the_cache_clean(served_catalog, server, zoo_home):
    entry = dataclasses.replace(catalog.get_checkpoint(NAME), sha256="0" * 64)
    with pytest.raises(HashMismatchError, match="does not match"):
        download.fetch(entry, progress=False)
    assert not cache.path_for(entry).exists() and not cache.partial_for(entry).exists()
    assert not cache.root().exists() or not any(cache.root().rglob("*"))
    assert cache.list_cached() == []


def test_offline_loads_cached_weights_and_names_missing_ones(served_catalog, server, monkeypatch):
    zoo.build_model("vision", "small_cnn", pretrained="tiny")
    server.close()
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.setattr(catalog, "_fetched", {})  # the catalog itself comes from the cached copy
    zoo.build_model("vision", "small_cnn", pretrained="tiny")
    with pytest.raises(OfflineError) as error:
        zoo.build_model("vision", "resnet18", pretrained=True)
    message = str(error.value)
    assert "resnet18-f37072fd.pth" in message and "ZOO_MIRROR" in message and "ZOO_OFFLINE=1" in message


def test_a_catalog_in_a_shared_directory_serves_its_files(site, monkeypatch):
    monkeypatch.setenv("ZOO_CATALOG", str(site / "catalog.json"))
    zoo.build_model("vision", "small_cnn", pretrained="tiny")
    entry = catalog.get_checkpoint(NAME)
    assert cache.read_record(cache.path_for(entry))["source"] == str(site.resolve() / entry.relpath)


def test_a_mirror_directory_serves_an_air_gapped_site(site, monkeypatch):
    entry = dataclasses.replace(catalog.read_catalog(site / "catalog.json")[0], sources=("https://unreachable.invalid/x",))
    monkeypatch.setenv("ZOO_MIRROR", str(site))
    path = download.fetch(entry, progress=False)
    assert cache.read_record(path)["source"] == str(site / entry.relpath)


def test_a_mirror_url_is_tried_first(server, site):
    entry = dataclasses.replace(catalog.read_catalog(site / "catalog.json")[0], sources=("https://unreachable.invalid/x",))
    download.fetch(entry, progress=False, mirror_location=server.base + "/")
    assert [r.path for r in server.state.gets(WEIGHTS)] == [f"/{entry.relpath}"]


def test_unreachable_sources_fail_fast_with_one_line(site):
    entry = dataclasses.replace(catalog.read_catalog(site / "catalog.json")[0], sources=("http://127.0.0.1:9/none",))
    start = time.time()
    with pytest.raises(DownloadError) as error:
        download.fetch(entry, progress=False, retries=1, backoff_s=0.01)
    assert time.time() - start < 10 and "\n" not in str(error.value) and "ZOO_MIRROR" in str(error.value)
    assert not cache.root().exists() or cache.list_cached() == []


def test_a_file_placed_in_the_cache_by_hand_is_verified_and_used(site):
    entry = catalog.read_catalog(site / "catalog.json")[0]
    entry = dataclasses.replace(entry, sources=("https://unreachable.invalid/x",))
    target = cache.path_for(entry)
    target.parent.mkdir(parents=True)
    target.write_bytes((site / entry.relpath).read_bytes())
    assert download.fetch(entry, progress=False) == target and cache.is_cached(entry)


def test_cache_commands_list_verify_and_clear(served_catalog, server, capsys):
    from zoo.cli import main

    assert main(["download", NAME, "--no-progress"]) == 0
    path = cache.path_for(catalog.get_checkpoint(NAME))
    assert f"{NAME}: {path}" in capsys.readouterr().out
    assert main(["cache", "list"]) == 0 and NAME in capsys.readouterr().out
    assert main(["checkpoints", "--model", "small_cnn"]) == 0
    assert "yes" in capsys.readouterr().out  # the cached column
    assert main(["cache", "verify"]) == 0 and ": ok" in capsys.readouterr().out
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert main(["cache", "verify"]) == 1 and "CORRUPT" in capsys.readouterr().out and not path.exists()
    assert main(["download", NAME, "--no-progress"]) == 0
    assert main(["cache", "clear"]) == 0 and not path.exists()


def test_download_needs_names_or_a_task(capsys):
    from zoo.cli import main

    assert main(["download"]) == 2 and "--all" in capsys.readouterr().err
    assert main(["download", "vision/resnet19.imagenet1k_v1"]) == 2
    assert "Did you mean 'vision/resnet18.imagenet1k_v1'" in capsys.readouterr().err


def test_a_stale_partial_file_is_discarded_and_fetched_again(served_catalog, server):
    entry = catalog.get_checkpoint(NAME)
    partial = cache.partial_for(entry)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x" * 100)  # an old partial from another file
    path = download.fetch(entry, progress=False)
    assert cache.sha256_file(path) == entry.sha256


def test_hf_sources_resolve_through_huggingface_hub():
    url, headers = download._http_location("hf://owner/repo@v1/dir/model.safetensors")
    assert url.endswith("/owner/repo/resolve/v1/dir/model.safetensors")
    assert {k.lower() for k in headers} <= {"authorization"}


def test_a_dripping_server_fails_clearly_and_keeps_the_partial_file(served_catalog, server, monkeypatch):
    entry = catalog.get_checkpoint(NAME)
    monkeypatch.setattr(download, "RATE_GRACE_S", 0.5)
    monkeypatch.setattr(download, "MIN_RATE_BYTES_S", entry.size / 2)  # the whole file is allowed about 2.5 s
    server.state.drip = (1024, 0.5)  # 1 KiB every half second: each read well within the socket timeout
    start = time.time()
    with pytest.raises(DownloadError, match="KiB/s") as error:
        download.fetch(entry, progress=False, backoff_s=0.01)
    assert time.time() - start < 20 and "\n" not in str(error.value)
    assert len(server.state.gets(WEIGHTS)) == 1  # a dripping server is not asked again at once
    kept = cache.partial_for(entry).stat().st_size
    assert 0 < kept < entry.size and not cache.path_for(entry).exists()
    server.state.drip = None
    download.fetch(entry, progress=False)  # the next call resumes from the bytes kept
    assert server.state.gets(WEIGHTS)[-1].range == f"bytes={kept}-"
    assert cache.sha256_file(cache.path_for(entry)) == entry.sha256


def test_a_full_disk_is_not_retried_and_gives_no_network_advice(served_catalog, server, monkeypatch):
    entry = catalog.get_checkpoint(NAME)
    attempts = []

    def full(self, free, full_queue, failure):
        while (item := full_queue.get()) is not None:
            attempts.append(1)
            failure.append(OSError(errno.ENOSPC, "No space left on device"))
            free.put(item[0])

    monkeypatch.setattr(download._Sink, "_drain", full)
    with pytest.raises(download.DiskFullError) as error:
        download.fetch(entry, progress=False, backoff_s=0.01)
    message = str(error.value)
    assert "disk is full" in message and "free" in message and "\n" not in message
    assert "ZOO_MIRROR" not in message and "network" not in message and "attempts" not in message
    assert len(server.state.gets(WEIGHTS)) == 1


def test_a_read_only_cache_serves_a_cached_file_with_a_url_catalog(served_catalog, server, monkeypatch):
    entry = catalog.get_checkpoint(NAME)
    path = download.fetch(entry, progress=False)
    monkeypatch.setattr(catalog, "_fetched", {})

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    import zoo.io

    monkeypatch.setattr(zoo.io, "atomic_write_text", read_only)
    monkeypatch.setattr(zoo.io, "atomic_write_json", read_only)
    assert download.fetch(catalog.get_checkpoint(NAME), progress=False) == path


def test_an_unknown_checkpoint_lists_close_names_and_points_at_the_listing(capsys):
    from zoo.cli import main

    assert main(["download", "vision/resnet18.imagenet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "vision/resnet18.imagenet1k_v1" in err and "zoo checkpoints" in err
    assert "vision/vit" not in err and len(err) < 400
