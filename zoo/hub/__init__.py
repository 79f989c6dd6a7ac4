"""Pretrained checkpoints: the catalog, verified downloads into a cache, publishing and export.

Importing this package stays free of torch; loading weights, publishing and exporting import it when called.

>>> from zoo import hub
>>> [e.name for e in hub.list_checkpoints("vision", "resnet50")]
['vision/resnet50.imagenet1k_v1', 'vision/resnet50.imagenet1k_v2']
>>> path = hub.fetch(hub.get_checkpoint("vision/resnet50.imagenet1k_v2"))   # downloads once, then cached
"""

from __future__ import annotations

from pathlib import Path

from zoo.hub.catalog import (
    CheckpointEntry,
    Metric,
    add_catalog,
    default_checkpoint,
    get_checkpoint,
    list_checkpoints,
    resolve_pretrained,
)

__all__ = [
    "CheckpointEntry",
    "Metric",
    "add_catalog",
    "default_checkpoint",
    "get_checkpoint",
    "list_checkpoints",
    "resolve_pretrained",
    "fetch",
]


def fetch(entry: CheckpointEntry | str, progress: bool | None = None) -> Path:
    """The verified local file of a checkpoint (an entry or its name), downloaded into the cache if needed."""
    from zoo.hub.download import fetch as _fetch

    return _fetch(get_checkpoint(entry) if isinstance(entry, str) else entry, progress=progress)
