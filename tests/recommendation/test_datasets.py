"""Training pairs, evaluation users, negative sampling and batching."""

import pytest
import torch

from zoo.data import SeededDataset
from zoo.errors import ConfigError
from zoo.recommendation.datasets import NegativeSampler, Pair, PairDataset, UserDataset, UserTargets, collate
from zoo.recommendation.interactions import csr

NUM_ITEMS = 12


@pytest.fixture
def positives():
    """User 0 has items 0-4, user 1 every item but 11 and 3, user 2 a single popular item."""
    users = torch.tensor([0] * 5 + [1] * 10 + [2])
    items = torch.tensor([0, 1, 2, 3, 4, *[i for i in range(NUM_ITEMS) if i not in (3, 11)], 0])
    return users, items, csr(users, items, 3)


@pytest.mark.parametrize("method", ["uniform", "popularity"])
def test_negatives_are_never_known_positives(positives, method):
    users, items, (indptr, seen) = positives
    counts = torch.bincount(items, minlength=NUM_ITEMS).float() + 1
    sampler = NegativeSampler(indptr, seen, NUM_ITEMS, 64, method, counts)
    for user in range(3):
        known = set(seen[indptr[user] : indptr[user + 1]].tolist())
        for seed in range(20):
            torch.manual_seed(seed)
            drawn = sampler.sample(user, 64)
            assert drawn.shape == (64,) and drawn.dtype == torch.int64
            assert not known & set(drawn.tolist()), (user, method)
            assert ((drawn >= 0) & (drawn < NUM_ITEMS)).all()
    torch.manual_seed(0)
    assert set(sampler.sample(1, 64).tolist()) == {3, 11}  # the only two items user 1 has not seen


def test_a_user_who_has_seen_everything_is_an_error():
    users, items = torch.zeros(3, dtype=torch.int64), torch.arange(3)
    indptr, seen = csr(users, items, 1)
    with pytest.raises(ConfigError, match="every item"):
        NegativeSampler(indptr, seen, 3, 2).sample(0, 2)


def test_popularity_sampling_prefers_popular_items():
    indptr, seen = csr(torch.tensor([0]), torch.tensor([0]), 1)
    counts = torch.tensor([0.0, 1, 1, 1, 100])
    sampler = NegativeSampler(indptr, seen, 5, 1, "popularity", counts, alpha=1.0)
    torch.manual_seed(0)
    drawn = sampler.sample(0, 4000)
    share = (drawn == 4).float().mean()
    assert 0.95 < share < 0.99 and not (drawn == 0).any()  # 100/103 of the mass; item 0 is a positive


def test_sampling_through_the_trainers_seeded_dataset_is_reproducible(positives):
    users, items, (indptr, seen) = positives
    pairs = PairDataset(users, items, torch.ones(len(users)))
    seeded = SeededDataset(pairs, NegativeSampler(indptr, seen, NUM_ITEMS, 4), seed=7)
    first, again = seeded[(3, 5)], seeded[(3, 5)]
    assert isinstance(first, Pair) and first.user == 1 and torch.equal(first.negatives, again.negatives)
    others = [seeded[(e, 5)].negatives for e in range(4, 12)]
    assert any(not torch.equal(first.negatives, o) for o in others)  # another epoch draws other negatives


def test_user_dataset_targets_and_seen_items():
    train_users, train_items = torch.tensor([0, 0, 1]), torch.tensor([1, 2, 3])
    indptr, seen = csr(train_users, train_items, 3)
    held = UserDataset(torch.tensor([2, 0, 0]), torch.tensor([4, 2, 5]), torch.tensor([3.0, 4.0, 5.0]), indptr, seen)
    assert len(held) == 2  # users 0 and 2; user 1 has nothing held out
    zero = held[0]
    assert isinstance(zero, UserTargets) and zero.user == 0
    assert zero.items.tolist() == [2, 5] and zero.ratings.tolist() == [4.0, 5.0]
    assert zero.relevant.tolist() == [False, True]  # item 2 was already seen in training: not a ranking target
    assert zero.seen.tolist() == [1, 2] and held[1].seen.tolist() == []
    sampler = NegativeSampler(indptr, seen, 6, 2)
    assert sampler(zero) is zero  # evaluation users pass through the sampler unchanged

    batch = collate([held[0], held[1]])
    assert batch["users"].tolist() == [0, 2]
    assert batch["target_rows"].tolist() == [0, 0, 1] and batch["target_items"].tolist() == [2, 5, 4]
    assert batch["seen_rows"].tolist() == [0, 0] and batch["seen_items"].tolist() == [1, 2]


def test_collate_pairs_with_and_without_negatives():
    plain = collate([Pair(0, 1, 4.0), Pair(2, 3, 5.0)])
    assert set(plain) == {"users", "items", "ratings"} and plain["ratings"].dtype == torch.float32
    sampled = collate([Pair(0, 1, 1.0, torch.tensor([5, 6])), Pair(2, 3, 1.0, torch.tensor([7, 8]))])
    assert sampled["negatives"].tolist() == [[5, 6], [7, 8]]
