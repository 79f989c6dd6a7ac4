"""The checkpoint cache: ``$ZOO_HOME/checkpoints/<task>/<model>.<tag>/<file>``, one record beside each file.

The record (``<file>.json``) holds the file's full sha256, size and modification time, written after the download
was verified. A load trusts a file whose record matches the catalog entry and whose size and time have not changed,
so verified files are not hashed again on every load; ``zoo cache verify`` hashes everything again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.hub.catalog import CheckpointEntry
from zoo.io import atomic_write_json
from zoo.paths import cache_dir

PARTIAL = ".partial"
RECORD = ".json"


def root() -> Path:
    return cache_dir() / "checkpoints"


def path_for(entry: CheckpointEntry) -> Path:
    return root() / entry.relpath


def partial_for(entry: CheckpointEntry) -> Path:
    """A stable name, so that a later process (or a restart) resumes where the last one stopped."""
    target = path_for(entry)
    return target.with_name(target.name + PARTIAL)


def lock_for(entry: CheckpointEntry) -> Path:
    """Locks live apart from the files, so that a failed download leaves no trace beside them."""
    return cache_dir() / "locks" / (entry.relpath.replace("/", "--") + ".lock")


def record_for(path: Path) -> Path:
    return path.with_name(path.name + RECORD)


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def matches(entry: CheckpointEntry, sha256: str) -> bool:
    """The catalog's check: the full digest, or only its published prefix when that is all there is."""
    return sha256 == entry.sha256 if entry.sha256 else sha256.startswith(entry.sha256_prefix)


def write_record(path: Path, entry: CheckpointEntry, sha256: str, source: str) -> None:
    stat = path.stat()
    atomic_write_json(record_for(path), {
        "name": entry.name, "sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        "source": source, "verified_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(record_for(path).read_text())
    except (OSError, ValueError):
        return None


def is_cached(entry: CheckpointEntry) -> bool:
    """A verified copy is present and unchanged since it was verified."""
    path = path_for(entry)
    record = read_record(path)
    if record is None or not path.is_file():
        return False
    stat = path.stat()
    return (
        record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns
        and matches(entry, record.get("sha256", "")) and (not entry.size or entry.size == stat.st_size)
    )


def adopt(entry: CheckpointEntry) -> bool:
    """Verify a file placed in the cache by hand (no record yet): keep it if it matches, else move it aside."""
    path = path_for(entry)
    if not path.is_file() or read_record(path) is not None:
        return False
    digest = sha256_file(path)
    if matches(entry, digest):
        write_record(path, entry, digest, "placed in the cache")
        return True
    return False


@dataclass
class CachedFile:
    name: str
    path: Path
    size: int
    sha256: str
    partial: bool = False


def list_cached() -> list[CachedFile]:
    """Every file in the cache, verified and partial; names come from the records (or the folder names)."""
    found = []
    if not root().is_dir():
        return found
    for path in sorted(root().glob("*/*/*")):
        if path.name.endswith(RECORD) or not path.is_file():
            continue
        is_partial = path.name.endswith(PARTIAL)
        record = read_record(path) or {}
        name = record.get("name") or f"{path.parent.parent.name}/{path.parent.name}"
        found.append(CachedFile(name, path, path.stat().st_size, record.get("sha256", ""), is_partial))
    return found


def verify(entries: dict[str, CheckpointEntry]) -> list[tuple[CachedFile, str]]:
    """Hash every cached file again; a file that no longer matches its entry (or its record) is removed."""
    results = []
    for cached in list_cached():
        if cached.partial:
            results.append((cached, "partial (resumes on the next download)"))
            continue
        digest = sha256_file(cached.path)
        entry = entries.get(cached.name)
        expected_ok = matches(entry, digest) if entry is not None else digest == cached.sha256
        if expected_ok and (not cached.sha256 or digest == cached.sha256):
            results.append((cached, "ok" if entry is not None else "ok (not in any catalog now)"))
        else:
            remove(cached.path)
            results.append((cached, "CORRUPT: removed; download it again"))
    return results


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    record_for(path).unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".d"), ignore_errors=True)
    prune_empty(path.parent)


def prune_empty(folder: Path) -> None:
    """Remove empty folders up to the cache root, so that a failed download leaves the tree as it was."""
    top = root()
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def clear(names: list[str] | None = None) -> list[Path]:
    """Remove the named checkpoints (all when ``names`` is empty); returns the files removed."""
    removed = []
    for cached in list_cached():
        if not names or cached.name in names:
            remove(cached.path)
            removed.append(cached.path)
    if not names:
        shutil.rmtree(root(), ignore_errors=True)
        shutil.rmtree(cache_dir() / "locks", ignore_errors=True)
    return removed
