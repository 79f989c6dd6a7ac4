"""``python -m zoo doctor``: what this machine gives zoo, in one screen to paste into a bug report.

Versions of Python and the libraries, the device torch sees (CUDA, cuDNN, GPU memory, MPS), the cache and data
directories with their sizes, the offline and mirror settings, and which optional extras are installed and what
each one enables.
"""

from __future__ import annotations

import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = ("torch", "torchvision", "torchaudio", "transformers", "tokenizers", "datasets", "torchmetrics",
             "safetensors", "huggingface_hub", "numpy")
# extra -> what installing it enables
EXTRAS = {
    "plot": "figures: zoo plot RUN, confusion matrices and sample predictions from zoo evaluate",
    "tensorboard": "TensorBoard event files in each run (trainer.tensorboard)",
    "export": "zoo export --format onnx, checked with onnxruntime",
    "medical": "MONAI models, NIfTI and DICOM readers for the medical task",
    "test": "the test suite (pytest) and what its tests exercise",
    "bench": "scripts/bench_trainer.py: the interleaved comparison with Lightning and Hugging Face's Trainer",
}
ENVIRONMENT = ("ZOO_HOME", "ZOO_DATA", "ZOO_OFFLINE", "ZOO_MIRROR", "ZOO_CATALOG", "ZOO_CONFIGS", "HF_HUB_OFFLINE",
               "HF_HOME", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


def report() -> dict[str, Any]:
    """Everything the doctor checks, as plain data (``zoo doctor --json``)."""
    from zoo import __version__
    from zoo.hub import cache
    from zoo.hub.download import mirror, offline
    from zoo.paths import data_dir

    return {
        "zoo": __version__,
        "python": f"{platform.python_version()} ({platform.platform()})",
        "cpu_cores": os.cpu_count(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "device": _device(),
        "cache": {"checkpoints": _folder(cache.root()), "datasets": _folder(data_dir())},
        "offline": offline() or os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true"),
        "mirror": mirror(),
        "environment": {name: os.environ[name] for name in ENVIRONMENT if name in os.environ},
        "extras": _extras(),
    }


def format_report(facts: dict[str, Any]) -> str:
    lines = [f"zoo {facts['zoo']}  python {facts['python']}  {facts['cpu_cores']} CPU cores", "", "libraries:"]
    lines += [f"  {name:<16} {version or 'not installed'}" for name, version in facts["libraries"].items()]
    device = facts["device"]
    lines += ["", "device:", f"  default          {device['default']}"]
    lines += [f"  {key:<16} {value}" for key, value in device.items() if key != "default"]
    lines += ["", "storage:"]
    for name, folder in facts["cache"].items():
        lines.append(f"  {name:<16} {folder['path']} ({folder['size']}, {folder['files']} files)")
    lines += ["", "network:", f"  offline          {'yes' if facts['offline'] else 'no'} (ZOO_OFFLINE=1 to forbid downloads)",
              f"  mirror           {facts['mirror'] or '-'} (ZOO_MIRROR=URL or directory)"]
    if facts["environment"]:
        lines += ["", "environment:"] + [f"  {k:<16} {v}" for k, v in facts["environment"].items()]
    lines += ["", "optional extras (pip install -e \".[NAME]\"):"]
    for name, extra in facts["extras"].items():
        state = "installed" if not extra["missing"] else "missing " + ", ".join(extra["missing"])
        lines.append(f"  {name:<12} {state:<28} {extra['enables']}")
    return "\n".join(lines)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _device() -> dict[str, Any]:
    import torch

    facts: dict[str, Any] = {"torch threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        facts["default"] = "cuda"
        facts["cuda"] = torch.version.cuda
        facts["cudnn"] = torch.backends.cudnn.version()
        for i in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(i)
            facts[f"cuda:{i}"] = f"{properties.name}, {properties.total_memory / 2**30:.1f} GiB, " \
                                 f"capability {properties.major}.{properties.minor}"
        facts["bf16"] = torch.cuda.is_bf16_supported()
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        facts["default"] = "mps"
    else:
        facts["default"] = "cpu"
        facts["cuda"] = f"not available (torch built with CUDA {torch.version.cuda})" if torch.version.cuda \
            else "not available (CPU-only torch build)"
    return facts


def _folder(path: Path) -> dict[str, Any]:
    from zoo.table import human

    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    return {"path": str(path), "size": human(size) + "B", "bytes": size, "files": len(files)}


def _extras() -> dict[str, dict[str, Any]]:
    """Each extra of the installed zoo distribution, the packages it needs that are missing, and what it enables."""
    try:
        requirements = metadata.requires("zoo") or []
    except metadata.PackageNotFoundError:
        requirements = []
    needs: dict[str, list[str]] = {}
    for requirement in requirements:
        match = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if match:
            package = re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0]
            needs.setdefault(match.group(1), []).append(package)
    return {
        name: {"enables": EXTRAS.get(name, ""), "missing": [p for p in packages if _version(p) is None]}
        for name, packages in needs.items()
    }
