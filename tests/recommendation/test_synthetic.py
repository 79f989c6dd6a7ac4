"""The embedded log: deterministic, skewed like real logs, with usable timestamps, ratings and features."""

import pytest
import torch

from zoo.errors import ConfigError
from zoo.recommendation.synthetic import GENRES, generate, synthetic


@pytest.fixture(scope="module")
def log():
    return generate(num_users=400, num_items=300, mean_activity=20)


def test_deterministic_per_seed(log):
    again = generate(num_users=400, num_items=300, mean_activity=20)
    assert torch.equal(log.users, again.users) and torch.equal(log.items, again.items)
    assert torch.equal(log.timestamps, again.timestamps) and torch.equal(log.ratings, again.ratings)
    other = generate(num_users=400, num_items=300, mean_activity=20, seed=1)
    assert not torch.equal(log.items[:100], other.items[:100])


def test_popularity_and_activity_are_skewed(log):
    per_item = torch.bincount(log.items, minlength=300).sort(descending=True).values.float()
    assert per_item[:30].sum() > 0.2 * per_item.sum()  # the top 10% of items
    per_user = torch.bincount(log.users, minlength=400).float()
    assert per_user.min() >= 5 and per_user.max() > 3 * per_user.median()
    pairs = log.users * 300 + log.items
    assert len(pairs.unique()) == len(pairs)  # a user meets an item once


def test_timestamps_ratings_and_features(log):
    assert (log.timestamps >= 1_500_000_000).all() and log.ratings.min() >= 1 and log.ratings.max() <= 5
    assert set(log.ratings.unique().tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    f = log.features
    assert f.user_sparse.shape == (400, 2) and f.user_dense.shape == (400, 1) and f.item_dense.shape == (300, 1)
    assert f.bag_cardinality == len(GENRES) and (f.item_bags[:, 0] < len(GENRES)).all()
    assert log.titles[0].startswith("Item 1 (")


def test_loader_splits_and_checks_names():
    train = synthetic("train", num_users=100, num_items=80, mean_activity=10)
    val = synthetic("val", num_users=100, num_items=80, mean_activity=10)
    assert train.log is val.log and int(train.val_mask.sum()) == 100  # leave-last-out: one per user
    with pytest.raises(ConfigError, match="Valid splits"):
        synthetic("test")
    with pytest.raises(ConfigError, match="min_activity"):
        generate(num_users=10, num_items=4)
