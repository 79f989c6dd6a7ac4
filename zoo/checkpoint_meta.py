"""What a checkpoint directory holds, read without torch: its files' names, where a path leads (a run, its
``checkpoints/``, a step), and ``meta.json`` with the version that wrote it. zoo.checkpoint re-exports all of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.errors import CheckpointError

MODEL_FILE, EMA_FILE, STATE_FILE, META_FILE = "model.safetensors", "ema.safetensors", "trainer.pt", "meta.json"


META_KEYS = ("task", "model", "config", "info")  # what evaluate, predict, publish and a resume cannot do without


def resolve(path: str | Path) -> Path:
    """Accept a checkpoint directory, a run's ``checkpoints/`` folder, or a run directory (its best, else last)."""
    path = Path(path)
    for candidate in (path, path / "best", path / "last", path / "checkpoints" / "best", path / "checkpoints" / "last"):
        if (candidate / META_FILE).is_file():
            return candidate.resolve()
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; pass a run directory or its checkpoints/best")
    raise CheckpointError(
        f"{str(path)!r} holds no checkpoint ({META_FILE} and {MODEL_FILE}); "
        "pass a run directory, its checkpoints/ folder, or a checkpoint such as RUN/checkpoints/best"
    )


def read_meta(path: Path) -> dict[str, Any]:
    """A checkpoint's ``meta.json``; one written by another zoo version that lacks what this one reads is an error
    saying which version wrote it."""
    file = path / META_FILE
    try:
        meta = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{file} is not valid JSON ({error}): the checkpoint is damaged") from error
    if not isinstance(meta, dict):
        raise CheckpointError(f"{file} holds a {type(meta).__name__}, not the checkpoint's metadata")
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise CheckpointError(f"{file} lacks {', '.join(missing)}: {written_by(meta)}, and zoo {_version()} cannot "
                              "read it without them")
    return meta


def _version() -> str:
    from zoo import __version__

    return __version__


def written_by(meta: dict[str, Any]) -> str:
    """Which zoo wrote a checkpoint, compared with this one, in a few words."""
    version = meta.get("zoo_version")
    if not version:
        return "it was written by a zoo that does not record its version"
    return f"it was written by zoo {version}" + ("" if version == _version() else f" (this is zoo {_version()})")
