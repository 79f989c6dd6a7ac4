"""The embedded default: an interaction log generated from a latent-factor model, needing no files.

Users and items get latent vectors; an item's pull on a user is ``strength * <p_u, q_i> / sqrt(dim)`` plus a
popularity term that falls with the item's popularity rank as a power law. Each user draws a heavy-tailed number of
distinct items (log-normal activity) without replacement, in proportion to ``exp(pull)`` (Gumbel top-k), and
consumes them in random order at exponentially spaced times, so a user's last interaction is one more draw from the
same preferences. Ratings grow with the latent affinity plus user and item offsets and noise.

Popularity alone explains part of every user's choices; the rest needs the user's own vector, so personalised
models clearly beat the popularity ranking. Side features carry signal too: a user's segment and an item's genres
come from the latent vectors (for DLRM and the two-tower model), a user's age and an item's year weakly so.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from zoo.errors import ConfigError
from zoo.recommendation.interactions import Features, IdMap, Interactions, RecSplit, check_split, split_mask

GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
NUM_SEGMENTS = 8
MAX_GENRES = 3
_START = 1_500_000_000  # seconds since the epoch: mid 2017
_SPAN = 2 * 365 * 86_400


def generate(
    num_users: int = 2000,
    num_items: int = 1000,
    dim: int = 8,
    mean_activity: float = 30.0,
    min_activity: int = 5,
    strength: float = 3.0,
    popularity_skew: float = 0.8,
    seed: int = 0,
) -> Interactions:
    """A log of about ``num_users * mean_activity`` interactions; deterministic for a given seed."""
    if num_users < 2 or num_items < 2 or min_activity < 2:
        raise ConfigError("the synthetic log needs num_users >= 2, num_items >= 2 and min_activity >= 2")
    if min_activity >= num_items:
        raise ConfigError(f"min_activity ({min_activity}) must be below num_items ({num_items})")
    g = torch.Generator().manual_seed(seed)
    users_z = torch.randn(num_users, dim, generator=g)
    items_z = torch.randn(num_items, dim, generator=g)
    rank = torch.randperm(num_items, generator=g).float()
    popularity = -popularity_skew * torch.log1p(rank)
    pull = strength * users_z @ items_z.T / math.sqrt(dim) + popularity

    sigma = 0.8
    activity = torch.exp(math.log(mean_activity) - sigma**2 / 2 + sigma * torch.randn(num_users, generator=g))
    activity = activity.round().long().clamp_(min_activity, num_items // 2)
    gumbel = -torch.log(-torch.log(torch.rand(num_users, num_items, generator=g).clamp_(1e-12, 1 - 1e-12)))
    ranked = torch.argsort(pull + gumbel, dim=1, descending=True)
    chosen = torch.arange(num_items).expand(num_users, -1) < activity[:, None]
    users = torch.arange(num_users)[:, None].expand(-1, num_items)[chosen]
    items = ranked[chosen]

    # random order within each user, exponential gaps from a random start
    shuffle = torch.argsort(users.double() + torch.rand(len(users), generator=g, dtype=torch.float64))
    users, items = users[shuffle], items[shuffle]
    gaps = -torch.log(torch.rand(len(users), generator=g, dtype=torch.float64).clamp_(1e-12)) * 86_400.0
    starts = torch.rand(num_users, generator=g, dtype=torch.float64) * _SPAN + _START
    first = torch.ones(len(users), dtype=torch.bool)
    first[1:] = users[1:] != users[:-1]
    cumulative = torch.cumsum(gaps, 0)
    offset = cumulative - torch.cummax(torch.where(first, cumulative, torch.zeros_like(cumulative)), 0).values
    timestamps = (starts[users] + offset).long()

    affinity = (users_z[users] * items_z[items]).sum(1) / math.sqrt(dim)
    user_bias = 0.3 * torch.randn(num_users, generator=g)
    item_bias = 0.4 * torch.randn(num_items, generator=g)
    noise = 0.5 * torch.randn(len(users), generator=g)
    ratings = (2.2 + 0.9 * affinity + user_bias[users] + item_bias[items] + noise).round().clamp_(1, 5)

    features, titles = _features(users_z, items_z, popularity, g)
    return Interactions(
        users=users,
        items=items,
        ratings=ratings.float(),
        timestamps=timestamps,
        user_map=IdMap(range(1, num_users + 1)),
        item_map=IdMap(range(1, num_items + 1)),
        titles=titles,
        features=features,
    )


def _features(
    users_z: torch.Tensor, items_z: torch.Tensor, popularity: torch.Tensor, g: torch.Generator
) -> tuple[Features, list[str]]:
    num_users, dim = users_z.shape
    num_items = len(items_z)
    segments = torch.randn(NUM_SEGMENTS, dim, generator=g)
    segment = (users_z @ segments.T).argmax(1)
    gender = (torch.rand(num_users, generator=g) < 0.5).long()
    age = (35 + 8 * users_z[:, 0] + 8 * torch.randn(num_users, generator=g)).clamp(16, 75).round()

    prototypes = torch.randn(len(GENRES), dim, generator=g)
    genre_scores = items_z @ prototypes.T / math.sqrt(dim) + 0.5 * torch.randn(num_items, len(GENRES), generator=g)
    count = torch.randint(1, MAX_GENRES + 1, (num_items,), generator=g)
    top = genre_scores.argsort(1, descending=True)[:, :MAX_GENRES]
    bags = torch.where(torch.arange(MAX_GENRES) < count[:, None], top, torch.full_like(top, len(GENRES)))
    recent = (popularity - popularity.mean()) / popularity.std()  # popular items skew recent
    year = (2000 + 4 * recent + 6 * torch.randn(num_items, generator=g)).clamp(1930, 2019).round()

    titles = [
        f"Item {i + 1} ({'|'.join(GENRES[j] for j in row if j < len(GENRES))}, {int(y)})"
        for i, (row, y) in enumerate(zip(bags.tolist(), year.tolist()))
    ]
    features = Features(
        user_dense=_standardise(age[:, None]),
        item_dense=_standardise(year[:, None]),
        user_sparse=torch.stack([segment, gender], 1),
        item_sparse=torch.zeros(num_items, 0, dtype=torch.int64),
        item_bags=bags,
        user_cardinalities=[NUM_SEGMENTS, 2],
        item_cardinalities=[],
        bag_cardinality=len(GENRES),
        names={"user_dense": ["age"], "item_dense": ["year"], "user_sparse": ["segment", "gender"],
               "item_sparse": [], "item_bags": ["genres"]},
    )
    return features, titles


def _standardise(values: torch.Tensor) -> torch.Tensor:
    return ((values - values.mean(0)) / values.std(0).clamp(min=1e-6)).float()


@lru_cache(maxsize=4)
def _cached(num_users: int, num_items: int, mean_activity: float, seed: int) -> Interactions:
    return generate(num_users=num_users, num_items=num_items, mean_activity=mean_activity, seed=seed)


@lru_cache(maxsize=8)
def _cached_mask(
    num_users: int, num_items: int, mean_activity: float, seed: int, split_by: str, val_fraction: float
) -> torch.Tensor:
    return split_mask(_cached(num_users, num_items, mean_activity, seed), split_by, val_fraction, seed)


def synthetic(
    split: str,
    root: str | None = None,
    download: bool = False,
    num_users: int = 2000,
    num_items: int = 1000,
    mean_activity: float = 30.0,
    split_by: str = "leave_last_out",
    val_fraction: float = 0.2,
    seed: int = 0,
) -> RecSplit:
    """The generated log; ``root`` and ``download`` are accepted for a uniform signature and unused."""
    check_split(split, "synthetic")
    log = _cached(num_users, num_items, float(mean_activity), seed)
    mask = _cached_mask(num_users, num_items, float(mean_activity), seed, split_by, float(val_fraction))
    return RecSplit(log, mask, split, "synthetic")

