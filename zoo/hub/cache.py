"""The checkpoint cache: ``$ZOO_HOME/checkpoints/<task>/<model>.<tag>/<file>``, one record beside each file.

The record (``<file>.json``) holds the file's full sha256, size and modification time, written after the download
was verified. A load trusts a file whose record matches the catalog entry and whose size and time have not changed,
so verified files are not hashed again on every load; ``zoo cache verify`` hashes everything again.

An entry with ``verify: weights`` is an upstream file whose publisher gives no hash. It enters the cache only if it
loads as weights without running code (:func:`weights_problem`); its sha256 is then pinned in the record
(``"pinned": true``), and from then on it is checked against that record as other files are against the catalog.
A repository snapshot (``format: hf``) is a folder treated the same way, its sha256 being that of the list of its
files' sha256 (``zoo.hub.integrity``).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.hub.catalog import CheckpointEntry
from zoo.hub.integrity import digest, file_problem, manifest, problem, sha256_file, unchanged
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


def digest_of(path: Path) -> str:
    """The sha256 of a file, or of a snapshot folder's list of files and their sha256."""
    if path.is_dir():
        return digest(manifest(path))
    return sha256_file(path)


def matches(entry: CheckpointEntry, sha256: str, pinned: str = "") -> bool:
    """The catalog's check: the full digest, or only its published prefix when that is all there is. An entry
    without a published hash (``verify: weights``) matches only the digest ``pinned`` at its first download."""
    if entry.verify == "weights":
        return bool(pinned) and sha256 == pinned
    return sha256 == entry.sha256 if entry.sha256 else sha256.startswith(entry.sha256_prefix)


def weights_problem(entry: CheckpointEntry, path: Path) -> str:
    """Why ``path`` is not a weights file of ``entry``'s format (or a usable snapshot folder), in one line; "" when
    it loads as one. The check for files whose publisher gives no hash."""
    if path.is_dir():
        return problem(path)
    return file_problem(path, entry.format, entry.size)


def write_record(
    path: Path, entry: CheckpointEntry, sha256: str, source: str, files: dict[str, dict[str, Any]] | None = None
) -> None:
    """Record a verified file; for an entry without a published hash this pins the sha256 it arrived with. A
    snapshot folder's ``files`` (its manifest, when the caller already hashed them) are not hashed again."""
    stat = path.stat()
    record = {
        "name": entry.name, "sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        "source": source, "verified_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if path.is_dir():  # a snapshot: the sha256 is of this list, and each file's size and time say if it changed
        record["files"] = files if files is not None else manifest(path)
        record["size"] = sum(f["size"] for f in record["files"].values())
    if entry.verify == "weights":
        record["pinned"] = True  # no hash was published: this is the sha256 of the first download, checked since
    atomic_write_json(record_for(path), record)


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(record_for(path).read_text())
    except (OSError, ValueError):
        return None


def pinned_sha256(entry: CheckpointEntry) -> str:
    """The sha256 recorded for an entry without a published hash, if its file was downloaded before; "" if not."""
    if entry.verify != "weights":
        return ""
    record = read_record(path_for(entry)) or {}
    return record.get("sha256", "") if record.get("name") == entry.name else ""


def is_cached(entry: CheckpointEntry) -> bool:
    """A verified copy is present and unchanged since it was verified."""
    path = path_for(entry)
    record = read_record(path)
    if record is None or not path.exists():
        return False
    recorded = record.get("sha256", "")
    if path.is_dir():
        return unchanged(path, record) and matches(entry, recorded, pinned=recorded)
    stat = path.stat()
    return (
        record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns
        and matches(entry, recorded, pinned=recorded) and (not entry.size or entry.size == stat.st_size)
    )


def adopt(entry: CheckpointEntry) -> bool:
    """Verify a file placed in the cache by hand (no record yet) and record it if it passes; a file that fails is
    left for the next download to replace. Without a published hash the check is :func:`weights_problem`, or the
    sha256 pinned at the first download when the cache holds one."""
    path = path_for(entry)
    if not path.exists():
        return False
    if entry.verify == "weights":
        return _adopt_unhashed(entry, path)
    if read_record(path) is not None:
        return False
    digest = digest_of(path)
    if matches(entry, digest):
        write_record(path, entry, digest, "placed in the cache")
        return True
    return False


def _adopt_unhashed(entry: CheckpointEntry, path: Path) -> bool:
    record = read_record(path)
    pinned = pinned_sha256(entry)
    if pinned:  # the file changed since it was recorded, or was copied back after `zoo cache verify` removed it
        digest = digest_of(path)
        problem = "" if digest == pinned else f"its sha256 {digest} differs from {pinned}, pinned at its first download"
    elif record is None:
        problem = weights_problem(entry, path)
        digest = "" if problem else digest_of(path)
    else:
        return False
    if problem:
        print(f"{entry.name}: {path} was not used: {problem}", file=sys.stderr)
        return False
    write_record(path, entry, digest, (record or {}).get("source", "placed in the cache"))
    return True


@dataclass
class CachedFile:
    name: str
    path: Path
    size: int
    sha256: str
    partial: bool = False
    pinned: bool = False  # no hash was published: ``sha256`` is the one of its first download


def list_cached() -> list[CachedFile]:
    """Every file in the cache, verified and partial; names come from the records (or the folder names)."""
    found = []
    if not root().is_dir():
        return found
    for path in sorted(root().glob("*/*/*")):
        if path.name.endswith((RECORD, ".d")) or not (path.is_file() or path.is_dir()):  # .d: extracted archives
            continue
        is_partial = path.name.endswith(PARTIAL)
        record = read_record(path) or {}
        name = record.get("name") or f"{path.parent.parent.name}/{path.parent.name}"
        size = sum(p.stat().st_size for p in path.iterdir() if p.is_file()) if path.is_dir() else path.stat().st_size
        found.append(CachedFile(name, path, size, record.get("sha256", ""), is_partial,
                                bool(record.get("pinned"))))
    return found


def verify(entries: dict[str, CheckpointEntry]) -> list[tuple[CachedFile, str]]:
    """Hash every cached file again; a file that no longer matches its entry (or its record) is removed. The record
    of a file without a published hash is kept, so that its next download must match the sha256 pinned in it."""
    results = []
    for cached in list_cached():
        if cached.partial:
            results.append((cached, "partial (resumes on the next download)"))
            continue
        entry = entries.get(cached.name)
        unhashed = entry is not None and entry.verify == "weights"
        if unhashed and not cached.sha256:  # placed by hand and not used yet: the weights check, then pinned
            results.append((cached, "ok (loads as weights; sha256 pinned now)" if adopt(entry) else _removed(cached)))
            continue
        digest = digest_of(cached.path)
        expected_ok = matches(entry, digest, pinned=cached.sha256) if entry is not None else digest == cached.sha256
        if expected_ok and (not cached.sha256 or digest == cached.sha256):
            status = "ok" if entry is not None else "ok (not in any catalog now)"
            results.append((cached, status + (" (the sha256 pinned at its first download)" if unhashed else "")))
        else:
            results.append((cached, _removed(cached, keep_pin=unhashed)))
    return results


def _removed(cached: CachedFile, keep_pin: bool = False) -> str:
    remove(cached.path, keep_record=keep_pin)
    if not keep_pin:
        return "CORRUPT: removed; download it again"
    return (f"CORRUPT: removed; a new download must match the sha256 pinned at its first download "
            f"(`python -m zoo cache clear {cached.name}` forgets it)")


def remove(path: Path, keep_record: bool = False) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if not keep_record:
        record_for(path).unlink(missing_ok=True)
    extracted = path.with_name(path.name + ".d")
    shutil.rmtree(extracted, ignore_errors=True)
    record_for(extracted).unlink(missing_ok=True)
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
    for record in root().glob(f"*/*/*{RECORD}") if names else ():  # a record whose file is gone still pins a hash
        data = record.with_name(record.name.removesuffix(RECORD))
        if not data.exists() and (read_record(data) or {}).get("name") in names:
            record.unlink()
            prune_empty(record.parent)
    if not names:
        shutil.rmtree(root(), ignore_errors=True)
        shutil.rmtree(cache_dir() / "locks", ignore_errors=True)
    return removed
