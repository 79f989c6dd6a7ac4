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

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

# what a checkpoint holds, read without torch (a bad path or another version's meta.json is told before torch loads)
from zoo.checkpoint_meta import (  # noqa: F401 - part of this module's interface
    EMA_FILE, META_FILE, META_KEYS, MODEL_FILE, STATE_FILE, _version, read_meta, resolve, written_by,
)
from zoo.errors import CheckpointError
from zoo.io import atomic_write_json, disk_full, free_space, fsync, replace_symlink


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
    """Write ``step-N/`` through a temporary directory, point ``tags`` at it, and prune old steps.

    A write that fails (a full disk, say) removes the temporary directory and leaves the previous checkpoint as it
    was; a full disk is reported in one line naming the file, the free space and what to do.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / step_name(step)
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    writing = tmp
    try:
        writing = tmp / MODEL_FILE
        if isinstance(model, dict):  # a full state gathered from shards: fresh tensors, none shared
            save_file({k: v.contiguous() for k, v in model.items()}, str(writing))
        else:
            save_model(model, str(writing))
        if ema is not None:
            writing = tmp / EMA_FILE
            save_model(ema, str(writing))
        if trainer_state is not None:
            writing = tmp / STATE_FILE
            _torch_save(trainer_state, writing)
        writing = tmp / META_FILE
        atomic_write_json(writing, meta)
        mode = 0o666 & ~_umask()  # safetensors creates its files 0600; give them the mode a plain open() would
        for path in tmp.iterdir():
            os.chmod(path, mode)
            fsync(path)
        fsync(tmp)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, Exception) and disk_full(error):
            raise CheckpointError(_full_message(directory, step, writing.name)) from error
        raise
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


class _RecordingFile:
    """A file whose write errors are kept: ``torch.save`` turns them into "unexpected pos" RuntimeErrors."""

    def __init__(self, file: Any):
        self.file, self.error = file, None

    def write(self, data: Any) -> int:
        try:
            return self.file.write(data)
        except OSError as error:
            self.error = error
            raise

    def flush(self) -> None:
        self.file.flush()


def _torch_save(state: dict[str, Any], path: Path) -> None:
    with open(path, "wb") as f:
        recording = _RecordingFile(f)
        try:
            torch.save(state, recording)
        except RuntimeError:
            if recording.error is not None:
                raise recording.error from None
            raise


def _full_message(directory: Path, step: int, file: str) -> str:
    last = directory / "last"
    kept = f"{last} (step {read_meta(last)['step']}) is kept" if (last / META_FILE).is_file() else \
        "no earlier checkpoint exists"
    return (f"the disk is full: writing {file} of the step {step} checkpoint in {directory} failed "
            f"({free_space(directory)}); nothing of it was left behind and {kept}. Free some space (or lower "
            "trainer.keep_checkpoints), then continue with --resume")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _prune(directory: Path, keep: int) -> None:
    for stale in [*directory.glob(".step-*.tmp"), *directory.glob(".step-*.old")]:  # left by a killed process
        if not _alive(stale.name.split(".")[2]):  # .step-N.PID.tmp: another live process may still be writing it
            shutil.rmtree(stale, ignore_errors=True)
    pinned = {os.readlink(link) for link in (directory / "last", directory / "best") if link.is_symlink()}
    steps = sorted(p.name for p in directory.glob("step-*") if p.is_dir())
    removable = [name for name in steps if name not in pinned]
    for name in removable[: max(len(steps) - max(keep, 1), 0)]:
        shutil.rmtree(directory / name, ignore_errors=True)


def _alive(pid: str) -> bool:
    """Whether process ``pid`` runs now (and is not this one: our own leftovers are from a process now gone)."""
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def complete(path: Path) -> bool:
    """A step directory with everything a resume reads."""
    return all((path / name).is_file() for name in (META_FILE, MODEL_FILE, STATE_FILE))


def resumable(directory: Path) -> tuple[Path | None, str]:
    """The checkpoint a resume continues from, and a note when it is not ``last``.

    ``last`` normally; when it is missing or dangling (a crash between writing a step and pointing ``last`` at it,
    or a directory removed by hand) the newest complete step directory, never silently step 0.
    """
    last = directory / "last"
    if complete(last):
        return last.resolve(), ""
    steps = sorted((p for p in directory.glob("step-*") if p.is_dir() and complete(p)), key=lambda p: p.name)
    if not steps:
        return None, ""
    why = "dangling" if last.is_symlink() else "missing"
    return steps[-1], f"{last} is {why}; resuming from {steps[-1].name}, the newest complete checkpoint"


STATE_KEYS = ("optimizer", "scheduler", "scaler", "rng", "progress")


def check_trainer_state(state: Any, meta: dict[str, Any], path: Path, progress_fields: set[str]) -> None:
    """The trainer state holds every part a resume restores and no counter this version does not know."""
    file = path / STATE_FILE
    if not isinstance(state, dict):
        raise CheckpointError(f"{file} holds a {type(state).__name__}, not a trainer state; {written_by(meta)}")
    missing = [key for key in STATE_KEYS if key not in state]
    progress = state.get("progress")
    if not missing and not isinstance(progress, dict):
        missing = ["progress"]
    problems = [f"lacks {', '.join(missing)}"] if missing else []
    if isinstance(progress, dict):
        if lacking := sorted(progress_fields - progress.keys()):
            problems.append(f"lacks the counters {', '.join(lacking)}")
        if extra := sorted(progress.keys() - progress_fields):
            problems.append(f"has counters this version does not know ({', '.join(extra)})")
    if problems:
        raise CheckpointError(
            f"{file} {'; '.join(problems)}: {written_by(meta)} and cannot be resumed exactly by this one. Resume it "
            f"with that version, or start a new run from its weights with model.pretrained={path}"
        )


def _weights_file(path: Path, which: str) -> Path:
    file = path / (EMA_FILE if which == "ema" else MODEL_FILE)
    if not file.is_file():
        raise CheckpointError(f"{file} is missing: the checkpoint is incomplete")
    return file


def _not_safetensors(file: Path, error: Exception) -> CheckpointError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return CheckpointError(f"{file} is not a readable safetensors file ({reason}): the checkpoint is damaged or was "
                           "not written by zoo; use another checkpoint of the run (checkpoints/step-*) or train again")


def read_weights(path: Path, which: str = "model") -> dict[str, torch.Tensor]:
    """A checkpoint's weights as a CPU state dict."""
    file = _weights_file(path, which)
    try:
        return load_file(str(file))
    except (SafetensorError, OSError) as error:
        raise _not_safetensors(file, error) from error


def load_weights(path: Path, model: nn.Module, which: str = "model") -> None:
    """Load ``model.safetensors`` or ``ema.safetensors``; a mismatch names the missing and unexpected keys."""
    file = _weights_file(path, which)
    try:
        missing, unexpected = load_model(model, str(file), strict=False)
    except (SafetensorError, OSError) as error:
        raise _not_safetensors(file, error) from error
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
