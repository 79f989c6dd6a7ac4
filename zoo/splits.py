"""Splits of the user's own folders: a ``test`` split is a folder of its own or a seeded fraction, never the
validation split under another name (``zoo evaluate --split test`` must not print validation figures as test)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from zoo.errors import ConfigError


def no_split(dataset: str, where: Path | str, split: str, available: Sequence[str], fix: str) -> ConfigError:
    """The one-line error for a split the data does not have, naming the splits it has and how to add one."""
    return ConfigError(f"dataset {dataset!r} at {where} has no {split} split (its splits: {', '.join(available)}); "
                       f"{fix}")


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    if not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ConfigError(f"data.args.test_fraction must be at least 0 and leave items to train on beside "
                          f"val_fraction {val_fraction}, got {test_fraction!r}")


def seeded_parts(count: int, val_fraction: float, test_fraction: float, seed: int) -> dict[str, list[int]]:
    """Indices of ``train``, ``val`` and (with ``test_fraction`` > 0) ``test``: disjoint, reproducible for a seed,
    each held-out part at least one item."""
    check_fractions(val_fraction, test_fraction)
    order = list(range(count))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(val_fraction * count))
    n_test = max(1, round(test_fraction * count)) if test_fraction > 0 else 0
    parts = {"val": order[:n_val], "train": order[n_val + n_test:]}
    if n_test:
        parts["test"] = order[n_val : n_val + n_test]
    return {name: sorted(indices) for name, indices in parts.items()}
