"""Torch datasets over a split log: training pairs, evaluation users, negative sampling and batching.

Training items are single interactions ``(user, item, rating)``; the per-sample transform adds sampled negatives,
drawn with torch's RNG, which the trainer seeds by (seed, epoch, index) so a resumed run samples the same ones.
Evaluation items are users: their held-out items (the targets) and their training items (excluded from ranking).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError
from zoo.recommendation.interactions import contains

SAMPLING = ("uniform", "popularity")
_ROUNDS = 32  # rejection rounds before drawing from the user's complement explicitly


class Pair(NamedTuple):
    user: int
    item: int
    rating: float
    negatives: Tensor | None = None


class UserTargets(NamedTuple):
    user: int
    items: Tensor  # held-out items
    ratings: Tensor
    relevant: Tensor  # bool: held-out and not already in training, the items ranking metrics look for
    seen: Tensor  # training items, excluded from the ranking


class PairDataset(Dataset):
    """One item per training interaction."""

    def __init__(self, users: Tensor, items: Tensor, ratings: Tensor):
        self.users, self.items, self.ratings = users.numpy(), items.numpy(), ratings.numpy()

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, index: int) -> Pair:
        return Pair(int(self.users[index]), int(self.items[index]), float(self.ratings[index]))


class UserDataset(Dataset):
    """One item per user with held-out interactions: what ranking metrics need for that user."""

    def __init__(self, users: Tensor, items: Tensor, ratings: Tensor, seen_indptr: Tensor, seen_items: Tensor):
        order = torch.argsort(users, stable=True)
        users, self.items, self.ratings = users[order], items[order], ratings[order]
        self.users, counts = torch.unique_consecutive(users, return_counts=True)
        self.starts = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(counts, 0)])
        self.seen_indptr, self.seen_items = seen_indptr, seen_items

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, index: int) -> UserTargets:
        user = int(self.users[index])
        start, end = int(self.starts[index]), int(self.starts[index + 1])
        items = self.items[start:end]
        seen = self.seen_items[int(self.seen_indptr[user]) : int(self.seen_indptr[user + 1])]
        relevant = ~contains(self.seen_indptr, self.seen_items, user, items)
        return UserTargets(user, items, self.ratings[start:end], relevant, seen)


class NegativeSampler:
    """Adds ``count`` negatives to a training pair: items the user has no training interaction with.

    ``uniform`` draws every item alike; ``popularity`` draws items in proportion to ``count ** alpha`` of their
    training interactions (word2vec's 0.75 by default), which makes harder negatives. Candidates that are known
    positives are redrawn; after a few rounds the rest come from the user's complement directly, so a negative is
    never a known positive. Evaluation users pass through unchanged.
    """

    def __init__(
        self,
        indptr: Tensor,
        items: Tensor,
        num_items: int,
        count: int,
        method: str = "uniform",
        item_counts: Tensor | None = None,
        alpha: float = 0.75,
    ):
        if method not in SAMPLING:
            raise ConfigError(f"unknown negative_sampling {method!r}; choose one of {', '.join(SAMPLING)}")
        self.indptr, self.items, self.num_items, self.count, self.method = indptr, items, num_items, count, method
        self.weights: Tensor | None = None
        self.cdf: Tensor | None = None
        if method == "popularity":
            if item_counts is None:
                raise ValueError("popularity sampling needs item_counts")
            self.weights = item_counts.double().clamp(min=0) ** alpha
            cdf = torch.cumsum(self.weights, 0)
            self.cdf = cdf / cdf[-1]

    def __call__(self, sample: Any) -> Any:
        if not isinstance(sample, Pair):
            return sample
        return sample._replace(negatives=self.sample(sample.user, self.count))

    def draw(self, n: int) -> Tensor:
        if self.cdf is None:
            return torch.randint(self.num_items, (n,))
        drawn = torch.searchsorted(self.cdf, torch.rand(n, dtype=torch.float64), right=True)
        return drawn.clamp_(max=self.num_items - 1)

    def sample(self, user: int, n: int) -> Tensor:
        out = self.draw(n)
        bad = contains(self.indptr, self.items, user, out)
        for _ in range(_ROUNDS):
            if not bool(bad.any()):
                return out
            out[bad] = self.draw(int(bad.sum()))
            bad = contains(self.indptr, self.items, user, out)
        if bool(bad.any()):
            out[bad] = self._from_complement(user, int(bad.sum()))
        return out

    def _from_complement(self, user: int, n: int) -> Tensor:
        allowed = torch.ones(self.num_items, dtype=torch.bool)
        allowed[self.items[int(self.indptr[user]) : int(self.indptr[user + 1])]] = False
        candidates = allowed.nonzero().squeeze(1)
        if len(candidates) == 0:
            raise ConfigError(f"user index {user} has interacted with every item: no negative can be sampled")
        if self.weights is None or float(self.weights[candidates].sum()) == 0:
            return candidates[torch.randint(len(candidates), (n,))]
        return candidates[torch.multinomial(self.weights[candidates], n, replacement=True)]


def collate(samples: list[Any]) -> dict[str, Tensor]:
    """Training pairs become ``users, items, ratings[, negatives]``; evaluation users become flat target and seen
    lists with the row (position in the batch) of each entry, so masks over all items are built in one scatter."""
    if isinstance(samples[0], UserTargets):
        return _collate_users(samples)
    batch = {
        "users": torch.tensor([s.user for s in samples], dtype=torch.int64),
        "items": torch.tensor([s.item for s in samples], dtype=torch.int64),
        "ratings": torch.tensor([s.rating for s in samples], dtype=torch.float32),
    }
    if samples[0].negatives is not None:
        batch["negatives"] = torch.stack([s.negatives for s in samples])
    return batch


def _collate_users(samples: list[UserTargets]) -> dict[str, Tensor]:
    def rows(lengths: list[int]) -> Tensor:
        return torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths, dtype=torch.int64))

    return {
        "users": torch.tensor([s.user for s in samples], dtype=torch.int64),
        "target_rows": rows([len(s.items) for s in samples]),
        "target_items": torch.cat([s.items for s in samples]),
        "target_ratings": torch.cat([s.ratings for s in samples]),
        "target_relevant": torch.cat([s.relevant for s in samples]),
        "seen_rows": rows([len(s.seen) for s in samples]),
        "seen_items": torch.cat([s.seen for s in samples]),
    }
