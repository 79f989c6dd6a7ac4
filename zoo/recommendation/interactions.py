"""Interaction logs in memory: raw-id mapping, side features, and the train/validation splits.

Every loader (MovieLens, a generic file, the embedded generator) produces one :class:`Interactions` with contiguous
user and item indices; the raw ids are kept so that ``predict`` takes and returns the ids of the upstream files.
A split is a boolean mask over the log (``True``: held out for validation), so both splits share one id mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from zoo.errors import ConfigError

SPLITS = ("train", "val")
SPLIT_METHODS = ("random", "leave_last_out", "temporal")


class IdMap:
    """Raw ids (compared as strings, so ``196`` and ``"196"`` name the same user) to contiguous indices and back."""

    def __init__(self, raw: Sequence[Any]):
        self.raw: list[str] = [str(r) for r in raw]
        self.index: dict[str, int] = {r: i for i, r in enumerate(self.raw)}
        if len(self.index) != len(self.raw):
            raise ValueError("raw ids must be unique")

    @classmethod
    def fit(cls, values: np.ndarray) -> tuple[IdMap, np.ndarray]:
        """The map of the sorted distinct values (numerically when they are numbers) and their encoding."""
        unique, inverse = np.unique(values, return_inverse=True)
        return cls(unique.tolist()), inverse.astype(np.int64)

    def __len__(self) -> int:
        return len(self.raw)

    def encode(self, raw: Sequence[Any], kind: str = "id") -> Tensor:
        missing = [r for r in raw if str(r) not in self.index]
        if missing:
            examples = ", ".join(self.raw[:5])
            raise ConfigError(
                f"unknown {kind} {str(missing[0])!r}: not in this model's data "
                f"({len(self.raw)} {kind}s, e.g. {examples})"
            )
        return torch.tensor([self.index[str(r)] for r in raw], dtype=torch.int64)

    def decode(self, indices: Tensor | Sequence[int]) -> list[str]:
        return [self.raw[int(i)] for i in indices]


@dataclass
class Features:
    """Side features for DLRM-style models: dense columns, categorical columns and one multi-valued bag per item.

    ``*_sparse`` columns hold category indices below their cardinality; ``item_bags`` rows hold up to ``L`` indices
    padded with ``bag_cardinality`` (the padding index an ``EmbeddingBag`` skips), e.g. a movie's genres.
    """

    user_dense: Tensor
    item_dense: Tensor
    user_sparse: Tensor
    item_sparse: Tensor
    item_bags: Tensor
    user_cardinalities: list[int] = field(default_factory=list)
    item_cardinalities: list[int] = field(default_factory=list)
    bag_cardinality: int = 0
    names: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls, num_users: int, num_items: int) -> Features:
        return cls(
            user_dense=torch.zeros(num_users, 0),
            item_dense=torch.zeros(num_items, 0),
            user_sparse=torch.zeros(num_users, 0, dtype=torch.int64),
            item_sparse=torch.zeros(num_items, 0, dtype=torch.int64),
            item_bags=torch.zeros(num_items, 0, dtype=torch.int64),
        )


@dataclass
class Interactions:
    """A whole log: one row per (user, item) event with its rating (1.0 for implicit feedback) and timestamp."""

    users: Tensor  # int64 (n,) contiguous user indices
    items: Tensor  # int64 (n,)
    ratings: Tensor  # float32 (n,)
    timestamps: Tensor  # int64 (n,); the row order when the source has none
    user_map: IdMap
    item_map: IdMap
    titles: list[str]  # per item index; "" when unknown
    features: Features
    explicit: bool = True  # ratings carry a grade, not just "interacted"
    skipped: dict[str, list[str]] = field(default_factory=dict)  # malformed lines left out, reported by zoo.fit

    def __post_init__(self) -> None:
        n = len(self.users)
        if not (len(self.items) == len(self.ratings) == len(self.timestamps) == n):
            raise ValueError("users, items, ratings and timestamps must have one entry per interaction")
        if len(self.titles) != self.num_items:
            raise ValueError(f"titles must have one entry per item ({self.num_items}), got {len(self.titles)}")

    def __len__(self) -> int:
        return len(self.users)

    @property
    def num_users(self) -> int:
        return len(self.user_map)

    @property
    def num_items(self) -> int:
        return len(self.item_map)


def from_raw(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray | None = None,
    timestamps: np.ndarray | None = None,
    titles: dict[str, str] | None = None,
    min_rating: float | None = None,
) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """Map raw ids to indices; also returns, per user and per item index, its raw id (to attach features)."""
    users, items = np.asarray(users), np.asarray(items)
    explicit = ratings is not None
    ratings = np.ones(len(users), np.float32) if ratings is None else np.asarray(ratings, np.float32)
    timestamps = np.arange(len(users)) if timestamps is None else np.asarray(timestamps)
    if min_rating is not None:
        keep = ratings >= min_rating
        users, items, ratings, timestamps = users[keep], items[keep], ratings[keep], timestamps[keep]
    if len(users) == 0:
        raise ConfigError("the interaction log is empty" + (f" after min_rating={min_rating}" if min_rating else ""))
    user_map, user_index = IdMap.fit(users)
    item_map, item_index = IdMap.fit(items)
    titles = titles or {}
    log = Interactions(
        users=torch.from_numpy(user_index),
        items=torch.from_numpy(item_index),
        ratings=torch.from_numpy(ratings.astype(np.float32)),
        timestamps=torch.from_numpy(timestamps.astype(np.int64)),
        user_map=user_map,
        item_map=item_map,
        titles=[titles.get(r, "") for r in item_map.raw],
        features=Features.empty(len(user_map), len(item_map)),
        explicit=explicit,
    )
    return log, np.asarray(user_map.raw), np.asarray(item_map.raw)


# -- splits ------------------------------------------------------------------------------------------------------


def split_mask(log: Interactions, method: str, val_fraction: float = 0.2, seed: int = 0) -> Tensor:
    """Which interactions are held out for validation.

    ``random``: a seeded ``val_fraction`` of all interactions. ``leave_last_out``: each user's latest interaction
    (ties broken by row order), for users with at least two. ``temporal``: the latest ``val_fraction`` of the whole
    log, so validation is strictly in the future of training.
    """
    n = len(log)
    if method not in SPLIT_METHODS:
        raise ConfigError(f"unknown split_by {method!r}; choose one of {', '.join(SPLIT_METHODS)}")
    if method != "leave_last_out" and not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    mask = torch.zeros(n, dtype=torch.bool)
    if method == "random":
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        mask[order[: round(n * val_fraction)]] = True
    elif method == "temporal":
        order = np.lexsort((np.arange(n), log.timestamps.numpy()))
        mask[torch.from_numpy(order[n - round(n * val_fraction) :])] = True
    else:
        users = log.users.numpy()
        order = np.lexsort((np.arange(n), log.timestamps.numpy(), users))
        sorted_users = users[order]
        last = np.ones(n, dtype=bool)
        last[:-1] = sorted_users[1:] != sorted_users[:-1]
        first = np.ones(n, dtype=bool)
        first[1:] = sorted_users[1:] != sorted_users[:-1]
        held = last & ~first  # a user's only interaction stays in training
        mask[torch.from_numpy(order[held])] = True
    return mask


@dataclass
class RecSplit:
    """What a recommendation loader returns: the whole log, its validation mask and the split asked for."""

    log: Interactions
    val_mask: Tensor
    split: str
    name: str


def check_split(split: str, dataset: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset {dataset!r}. Valid splits: {', '.join(SPLITS)}.")
    return split


# -- per-user item lists -----------------------------------------------------------------------------------------


def csr(users: Tensor, items: Tensor, num_users: int) -> tuple[Tensor, Tensor]:
    """Items of each user as (indptr, sorted items): user ``u`` has ``items[indptr[u]:indptr[u+1]]``."""
    keys = users * (int(items.max()) + 1 if len(items) else 1) + items
    order = torch.argsort(keys, stable=True)
    counts = torch.bincount(users, minlength=num_users)
    indptr = torch.zeros(num_users + 1, dtype=torch.int64)
    indptr[1:] = torch.cumsum(counts, 0)
    return indptr, items[order].contiguous()


def contains(indptr: Tensor, sorted_items: Tensor, user: int, candidates: Tensor) -> Tensor:
    """Which ``candidates`` are among ``user``'s items, by binary search in the user's sorted slice."""
    row = sorted_items[int(indptr[user]) : int(indptr[user + 1])]
    if len(row) == 0:
        return torch.zeros(candidates.shape, dtype=torch.bool)
    position = torch.searchsorted(row, candidates).clamp_(max=len(row) - 1)
    return row[position] == candidates
