"""Run checkpoints: one directory per saved step, written whole before it becomes visible.

Layout of ``<run>/checkpoints/``::

    step-000400/  model.safetensors  [ema.safetensors]  trainer.pt  meta.json
    last -> step-000400        best -> step-000300

Weights are safetensors; ``trainer.pt`` (optimizer, scheduler, scaler, RNG, counters) holds only tensors and plain
values, so it loads with ``torch.load(weights_only=True)``. ``meta.json`` carries the resolved config, label names,
preprocessing and zoo version, which is all ``evaluate`` and ``predict`` need. ``last`` and ``best`` are symlinks
swapped atomically, so a crash at any instant leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from zoo.errors import CheckpointError
from zoo.io import atomic_write_json, fsync, replace_symlink

MODEL_FILE, EMA_FILE, STATE_FILE, META_FILE = "model.safetensors", "ema.safetensors", "trainer.pt", "meta.json"


def step_name(step: int) -> str:
    return f"step-{step:07d}"


def save(
    directory: Path,
    step: int,
    model: nn.Module | dict[str, torch.Tensor],
    ema: nn.Module | None,
    trainer_state: dict[str, Any] | None,
    meta: dict[str, Any],
    tags: tuple[str, ...] = ("last",),
    keep: int = 2,
) -> Path:
    """Write ``step-N/`` through a temporary directory, point ``tags`` at it, and prune old steps."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / step_name(step)
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    if isinstance(model, dict):  # a full state gathered from shards: fresh tensors, none shared
        save_file({k: v.contiguous() for k, v in model.items()}, str(tmp / MODEL_FILE))
    else:
        save_model(model, str(tmp / MODEL_FILE))
    if ema is not None:
        save_model(ema, str(tmp / EMA_FILE))
    if trainer_state is not None:
        torch.save(trainer_state, tmp / STATE_FILE)
    atomic_write_json(tmp / META_FILE, meta)
    for path in tmp.iterdir():
        fsync(path)
    fsync(tmp)
    if final.exists():  # the same step saved again (an evaluation right after a periodic checkpoint)
        old = directory / f".{final.name}.{os.getpid()}.old"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fsync(directory)
    for tag in tags:
        replace_symlink(directory / tag, final.name)
    _prune(directory, keep)
    return final


def _prune(directory: Path, keep: int) -> None:
    for stale in directory.glob(".step-*.tmp"):  # left by a process killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    pinned = {os.readlink(link) for link in (directory / "last", directory / "best") if link.is_symlink()}
    steps = sorted(p.name for p in directory.glob("step-*") if p.is_dir())
    removable = [name for name in steps if name not in pinned]
    for name in removable[: max(len(steps) - max(keep, 1), 0)]:
        shutil.rmtree(directory / name, ignore_errors=True)


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
    return json.loads((path / META_FILE).read_text())


def read_weights(path: Path, which: str = "model") -> dict[str, torch.Tensor]:
    """A checkpoint's weights as a CPU state dict."""
    file = path / (EMA_FILE if which == "ema" else MODEL_FILE)
    if not file.is_file():
        raise CheckpointError(f"{file} is missing: the checkpoint is incomplete")
    return load_file(str(file))


def load_weights(path: Path, model: nn.Module, which: str = "model") -> None:
    """Load ``model.safetensors`` or ``ema.safetensors``; a mismatch names the missing and unexpected keys."""
    file = path / (EMA_FILE if which == "ema" else MODEL_FILE)
    if not file.is_file():
        raise CheckpointError(f"{file} is missing: the checkpoint is incomplete")
    missing, unexpected = load_model(model, str(file), strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{file} does not fit the model: missing keys {sorted(missing)[:8]}, unexpected keys {sorted(unexpected)[:8]}"
        )


def load_trainer_state(path: Path) -> dict[str, Any]:
    file = path / STATE_FILE
    if not file.is_file():
        raise CheckpointError(f"{file} is missing: this checkpoint holds weights only and cannot resume training")
    from zoo.hub.safety import safe_torch_load

    return safe_torch_load(file)
