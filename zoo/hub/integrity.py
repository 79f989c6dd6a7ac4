"""What a file or a snapshot folder in the store holds: its sha256, its manifest, and whether it loads as weights
without running code. The cache and the downloaders both lean on this; it leans on nothing but the safe loader."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_problem(path: Path, format: str, expected_size: int = 0) -> str:  # noqa: A002 - the catalog's word
    """Why ``path`` does not load as ``format`` weights, in one line; "" when it does.

    Read without running code (``zoo.hub.safety``), it must be a non-empty state dict of tensors. A truncated archive,
    an error page or a pickle asking for code all fail it.
    """
    from zoo.errors import CheckpointError, UnsafeFileError
    from zoo.hub.safety import load_state_dict

    size = path.stat().st_size
    if expected_size and size != expected_size:
        return f"it has {size} bytes, the catalog says {expected_size}"
    if not size:
        return "it is empty"
    with open(path, "rb") as f:
        head = f.read(16)
    if format == "pth" and not head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save: a zip, or a pickle
        return f"it is not a file torch.save writes (it starts with {head!r})"
    try:
        state = load_state_dict(path, format)
    except UnsafeFileError as error:
        return "it was refused: " + _sentence(str(error).partition("refused: ")[2])
    except CheckpointError as error:
        if error.__cause__ is None:  # read, but not a state dict
            return "it " + _sentence(str(error).removeprefix(str(path)))
        return f"it does not load as {format} weights: {_sentence(str(error.__cause__))}"
    import torch

    if not state:
        return "it holds no tensors"
    other = next((k for k, v in state.items() if not isinstance(v, torch.Tensor)), None)
    if other is not None:
        return f"it holds {type(state[other]).__name__} {other!r}, not only tensors"
    return ""


def _sentence(text: str) -> str:
    return text.strip().splitlines()[0].split(". ")[0] if text.strip() else "(no reason given)"


WEIGHTS = {".safetensors": "safetensors", ".bin": "pth"}  # .bin: a pickled state dict, read with weights_only=True
KEPT = (".json", ".txt", ".model")  # config, tokenizer (tokenizer.json, vocab.txt, merges.txt, spiece.model), indexes


def select_files(names: Iterable[str]) -> list[str]:
    """The files of a repository a snapshot keeps: top-level config and tokenizer files and one set of weights.

    Safetensors when there are any, else ``pytorch_model*.bin``; other frameworks' weights (TensorFlow, Flax, ONNX,
    in subfolders or not) are left out.
    """
    top = sorted(name for name in names if "/" not in name)
    safetensors = [name for name in top if name.endswith(".safetensors")]
    weights = safetensors or [n for n in top if n.startswith("pytorch_model") and n.endswith(".bin")]
    return sorted({*(n for n in top if n.endswith(KEPT)), *weights})


def manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file of the snapshot with its sha256, size and modification time, by name."""
    files = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        stat = path.stat()
        files[path.name] = {"sha256": sha256_file(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return files


def digest(files: dict[str, dict[str, Any]]) -> str:
    """One sha256 for the folder: of the sorted ``name sha256`` lines of its files."""
    lines = "".join(f"{name} {files[name]['sha256']}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def unchanged(folder: Path, record: dict[str, Any]) -> bool:
    """The folder holds exactly the recorded files, each with its recorded size and time (no hashing)."""
    files = record.get("files")
    if not isinstance(files, dict) or not folder.is_dir():
        return False
    present = {p.name: p.stat() for p in folder.iterdir() if p.is_file()}
    return present.keys() == files.keys() and all(
        present[name].st_size == files[name].get("size") and present[name].st_mtime_ns == files[name].get("mtime_ns")
        for name in files
    )


def problem(folder: Path) -> str:
    """Why ``folder`` is not a usable snapshot, in one line; "" when every weights file loads without running code."""
    names = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if "config.json" not in names:
        return "it has no config.json"
    weights = [name for name in names if Path(name).suffix in WEIGHTS and name in select_files(names)]
    if not weights:
        return "it holds no weights file (*.safetensors, or pytorch_model*.bin)"
    for name in weights:
        found = file_problem(folder / name, WEIGHTS[Path(name).suffix])
        if found:
            return f"{name}: {found}"
    return ""
