"""Loading files from elsewhere without running their code.

Weights are read as safetensors (no code at all) or, for the ``.pth`` files upstream libraries publish, with
``torch.load(weights_only=True)``, whose unpickler only rebuilds tensors and plain containers. A pickle that asks for
anything else (``os.system``, ``pathlib.Path.touch``...) is refused before it runs, with :class:`UnsafeFileError`.
Archives are extracted member by member, refusing absolute paths, ``..``, links and devices.
"""

from __future__ import annotations

import pickle
import re
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from zoo.errors import CheckpointError, UnsafeFileError


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load`` that only ever rebuilds tensors and plain values; a code-running pickle is an error."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"Unsupported global: GLOBAL (\S+)|Unsupported operand \S+", str(error))
        what = f"it asks for {found.group(1) or found.group(0)}" if found else "it holds more than tensors"
        raise UnsafeFileError(
            f"{path} was refused: loading it would run code or build arbitrary objects ({what}). "
            "zoo reads weights with torch.load(weights_only=True) and safetensors only"
        ) from error
    except (RuntimeError, EOFError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch weights file: {error}") from error


def load_state_dict(path: str | Path, format: str) -> dict[str, Any]:  # noqa: A002 - the catalog's word
    """Tensors by name from a ``safetensors`` file or a ``pth`` state dict (optionally under ``state_dict``)."""
    if format == "safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise CheckpointError(f"{path} is not a readable safetensors file: {error}") from error
    state = safe_torch_load(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    return state


def safe_extract(archive: str | Path, destination: str | Path, kind: str = "") -> list[Path]:
    """Extract a zip or tar archive under ``destination``; a member that would land outside it is an error."""
    archive, destination = Path(archive), Path(destination)
    kind = kind or ("zip" if zipfile.is_zipfile(archive) else "tar")
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            names = [info.filename for info in zf.infolist()]
            for info in zf.infolist():
                _check_member(info.filename, root, archive)
                if info.external_attr >> 16 & 0o170000 == 0o120000:
                    raise UnsafeFileError(f"{archive}: member {info.filename!r} is a symbolic link; refused")
            zf.extractall(root)
    else:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                _check_member(member.name, root, archive)
                if not (member.isfile() or member.isdir()):
                    raise UnsafeFileError(f"{archive}: member {member.name!r} is a link or device; refused")
            names = [m.name for m in members]
            tf.extractall(root, members=members, filter="data")
    return [root / name for name in names]


def _check_member(name: str, root: Path, archive: Path) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    target = (root / path).resolve()
    if path.is_absolute() or ".." in path.parts or (target != root and root not in target.parents):
        raise UnsafeFileError(f"{archive}: member {name!r} would be written outside {root}; refused")
