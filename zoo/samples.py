"""Sample input files cut from a dataset, so that ``predict`` can be tried before one has data of one's own.

``zoo samples --task T --output DIR`` writes items of the recipe's validation split in the form ``predict`` reads
(images, audio, a text file) and ``DIR/references.json`` with what each file truly holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo import registry
from zoo.errors import ConfigError

REFERENCES = "references.json"


def pick(size: int, count: int, label_of: Callable[[int], Any] | None = None) -> list[int]:
    """Up to ``count`` item indices; with ``label_of``, the picks go round the labels so each shows up in turn."""
    if count < 1:
        raise ConfigError(f"count must be at least 1, got {count}")
    if label_of is None:
        n = min(count, size)
        return [round(i * (size - 1) / max(n - 1, 1)) for i in range(n)]
    by_label: dict[Any, list[int]] = {}
    for index in range(min(size, 50 * count)):  # enough to meet every label of a shuffled split
        by_label.setdefault(label_of(index), []).append(index)
    queues = [by_label[label] for label in sorted(by_label, key=str)]
    chosen: list[int] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return sorted(chosen)


def file_name(index: int, label: str | None, suffix: str) -> str:
    """``00042_traffic-light.png``: the item's index, then its label made safe for any file system."""
    stem = f"{index:05d}"
    if label:
        stem += "_" + (re.sub(r"[^A-Za-z0-9.-]+", "-", label).strip("-") or "label")
    return stem + suffix


def write_image(image: Any, path: Path) -> Path:
    """A ``(C, H, W)`` or ``(H, W)`` tensor or array, or a PIL image, as 8-bit PNG; floats in [0, 1] map to
    0-255 (as readers scale them back), other floats are stretched over their range."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image, Image.Image):
        image.save(path)
        return path
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)  # a tensor
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array.transpose(1, 2, 0)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        if low >= 0 and high <= 1:  # intensities already in [0, 1], as image readers give them back
            low, high = 0.0, 1.0
        array = np.round((array - low) / max(high - low, 1e-12) * 255).astype(np.uint8)
    Image.fromarray(array).save(path)
    return path


def write_references(directory: Path, references: dict[str, Any]) -> Path:
    path = directory / REFERENCES
    path.write_text(json.dumps(references, indent=1) + "\n")
    return path


def write_samples(
    task: str,
    output: str | Path | None = None,
    *,
    model: str | None = None,
    dataset: str | None = None,
    count: int = 8,
    overrides: Sequence[str] = (),
    problem: str | None = None,
) -> list[Path]:
    """Write ``count`` inputs of the recipe's validation split into ``output`` (default ``samples/<task>``, or
    ``samples/<task>/<problem>`` for a problem other than the task's first)."""
    from zoo import recipes

    config = recipes.resolve(task, model=model, dataset=dataset, overrides=list(overrides), problem=problem)
    from zoo.task import load_task  # torch, once the names are known good
    default = Path("samples") / config.task
    if config.problem != registry.get_task(config.task).default_problem.name:
        default = default / config.problem
    directory = Path(output) if output is not None else default
    directory.mkdir(parents=True, exist_ok=True)
    return load_task(config).write_samples(directory, count)
