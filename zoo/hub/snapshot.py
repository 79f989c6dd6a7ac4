"""Hugging Face repository snapshots (``format: hf``) in the checkpoint cache: a folder, not one file.

A transformers checkpoint is a repository: its config, tokenizer files and weights. An entry of format ``hf`` names
the repository and a pinned revision (``hf://owner/repo@revision``); its folder in the cache,
``<task>/<model>.<tag>/<file_name>/``, holds the top-level config and tokenizer files and the weights
(``*.safetensors``, or ``pytorch_model*.bin`` when the repository has no safetensors). A ``ZOO_MIRROR`` directory or a
local source is a folder with the same files.

The hub publishes no hash zoo can check offline, so a snapshot is checked as other ``verify: weights`` files are:
every weights file must load as weights without running code, and the sha256 of every file is pinned in the cache
record at the first download. The record's ``sha256`` is the digest of that list (:func:`digest`), so the cache
treats a folder like a file: a changed, added or removed file changes it.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path
from typing import Any

from zoo.errors import DownloadError, HashMismatchError
from zoo.hub.catalog import CheckpointEntry
from zoo.hub.integrity import WEIGHTS, digest, manifest, problem, select_files, unchanged  # noqa: F401 - its words

def download(source: str, entry: CheckpointEntry, pinned: str = "") -> tuple[str, dict[str, dict[str, Any]]]:
    """Fill the entry's partial folder from ``source`` and return its :func:`digest` and :func:`manifest` (which
    the cache record keeps, so nothing is hashed twice); a snapshot that fails the check (or, once pinned, differs
    from the pin) is removed with the reason."""
    from zoo.hub import cache

    staging = cache.partial_for(entry)
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        if source.startswith("hf://"):
            _from_hub(source, staging)
        elif source.startswith(("http://", "https://")):
            raise DownloadError(
                "a repository snapshot comes from hf://owner/repo@revision or a folder, not a URL; to use a mirror of "
                "the Hugging Face Hub set HF_ENDPOINT, or point ZOO_MIRROR at a directory"
            )
        else:
            _from_folder(source, entry, staging)
        files = manifest(staging)
        found = problem(staging)
        if not found and pinned and digest(files) != pinned:
            changed = _changed(files, cache.read_record(cache.path_for(entry)) or {})
            found = (f"its files ({changed}) differ from those pinned when it was first downloaded "
                     f"(`python -m zoo cache clear {entry.name}` accepts a new snapshot)")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if found:
        shutil.rmtree(staging, ignore_errors=True)
        raise HashMismatchError(f"{found}; the snapshot was discarded")
    return digest(files), files


def _changed(files: dict[str, dict[str, Any]], record: dict[str, Any]) -> str:
    old = record.get("files") or {}
    names = sorted(n for n in {*files, *old} if (files.get(n) or {}).get("sha256") != (old.get(n) or {}).get("sha256"))
    return ", ".join(names) or "all"


def _from_folder(source: str, entry: CheckpointEntry, staging: Path) -> None:
    """A folder holding the snapshot's files, or a directory holding that folder under the entry's ``file_name``."""
    path = Path(urllib.parse.unquote(urllib.parse.urlparse(source).path) if source.startswith("file://") else source)
    path = path.expanduser()
    if (path / entry.file_name).is_dir():
        path = path / entry.file_name
    if not path.is_dir():
        raise DownloadError(f"{path} is not a folder")
    staging.mkdir()
    for name in select_files(p.name for p in path.iterdir() if p.is_file()):
        shutil.copy2(path / name, staging / name)


def parse_source(source: str) -> tuple[str, str | None]:
    """``hf://owner/repo[@revision]`` as (repository id, revision)."""
    repo, _, revision = source.removeprefix("hf://").partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")) or "/" in revision:
        raise DownloadError(f"{source} is not hf://owner/repo[@revision]")
    return repo, revision or None


def _from_hub(source: str, staging: Path) -> None:
    """The selected files of the repository at the revision, through huggingface_hub (its endpoint, token, cache)."""
    from huggingface_hub import HfApi, snapshot_download

    repo, revision = parse_source(source)
    try:
        names = select_files(HfApi().list_repo_files(repo, revision=revision))
        snapshot_download(repo, revision=revision, allow_patterns=names, local_dir=str(staging))
    except Exception as error:  # huggingface_hub raises its own HTTP, offline and not-found errors
        raise DownloadError(f"huggingface_hub could not fetch {repo}@{revision}: {error}") from error
    shutil.rmtree(staging / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping inside local_dir
