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

    network = _network()
    return {
        "zoo": __version__,
        "python": f"{platform.python_version()} ({platform.platform()})",
        "cpu_cores": os.cpu_count(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "device": _device(),
        "cache": {"checkpoints": _folder(cache.root()), "datasets": _folder(data_dir())},
        "offline": offline() or os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true") or not network["route"],
        "network": network,
        "mirror": mirror(),
        "load": _load(),
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
    network = facts.get("network") or {"route": True, "detail": ""}
    why = "ZOO_OFFLINE=1 or HF_HUB_OFFLINE=1" if offline_set(facts) else network["detail"]
    offline_line = f"yes ({why})" if facts["offline"] else "no (ZOO_OFFLINE=1 to forbid downloads)"
    lines += ["", "network:", f"  offline          {offline_line}",
              f"  mirror           {facts['mirror'] or '-'} (ZOO_MIRROR=URL or directory)"]
    load = facts.get("load")
    if load and load["oversubscribed"]:
        lines += ["", f"warning: load average {load['load_1min']:.1f} is above the {load['usable_cores']} cores this "
                      "process may use: timings are slower than on a quiet machine (trainer.threads=1 helps small "
                      "models)"]
    if facts["environment"]:
        lines += ["", "environment:"] + [f"  {k:<16} {v}" for k, v in facts["environment"].items()]
    lines += ["", "optional extras (pip install -e \".[NAME]\"):"]
    for name, extra in facts["extras"].items():
        state = "installed" if not extra["missing"] else "missing " + ", ".join(extra["missing"])
        lines.append(f"  {name:<12} {state:<28} {extra['enables']}")
    return "\n".join(lines)


def offline_set(facts: dict[str, Any]) -> bool:
    env = facts.get("environment", {})
    return env.get("ZOO_OFFLINE", "").lower() in ("1", "true", "yes", "on") or env.get("HF_HUB_OFFLINE") in ("1", "true")


HOSTS = ("huggingface.co", "download.pytorch.org")  # where catalog checkpoints come from
PROBE_S = 3.0


def _network() -> dict[str, Any]:
    """Whether the hosts checkpoints come from can be reached: each name resolved and a TCP connection opened, within
    PROBE_S in all (a sandbox may answer any address, so a route alone proves nothing; a name that does not resolve
    means no network here)."""
    import socket
    import threading

    answer: dict[str, Any] = {"route": False, "detail": f"no network: {HOSTS[0]} cannot be reached"}

    def probe() -> None:
        for host in HOSTS:
            try:
                address = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)[0][4]
                with socket.create_connection(address[:2], timeout=PROBE_S):
                    answer.update(route=True, detail=f"{host} reachable")
                    return
            except OSError as error:
                answer["detail"] = f"no network: {host} {'does not resolve' if isinstance(error, socket.gaierror) else 'cannot be reached'}"

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(PROBE_S)
    return dict(answer)


def _load() -> dict[str, Any] | None:
    """The 1-minute load average against the cores this process may run on (its CPU affinity)."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return {"load_1min": round(load, 2), "usable_cores": cores, "oversubscribed": load > cores}


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
