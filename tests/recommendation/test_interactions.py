"""Id mapping, splits and per-user item lists."""

import numpy as np
import pytest
import torch

from zoo.errors import ConfigError
from zoo.recommendation.interactions import IdMap, contains, csr, from_raw, split_mask


def _log(users, items, timestamps, ratings=None):
    log, _, _ = from_raw(np.array(users), np.array(items), ratings, np.array(timestamps))
    return log


def test_id_map_round_trip_with_raw_ids_of_any_type():
    log = _log([196, 3, 196, 42, 3], ["b", "a", "c", "a", "zz"], [5, 4, 3, 2, 1])
    assert log.user_map.raw == ["3", "42", "196"]  # sorted numerically, not as text
    assert log.item_map.raw == ["a", "b", "c", "zz"]
    assert log.user_map.decode(log.users) == ["196", "3", "196", "42", "3"]
    assert log.item_map.decode(log.items) == ["b", "a", "c", "a", "zz"]
    assert torch.equal(log.user_map.encode([196, "3"]), torch.tensor([2, 0]))
    restored = IdMap(log.user_map.raw)  # as predict rebuilds it from the checkpoint's info
    assert restored.decode(restored.encode(["42", 196])) == ["42", "196"]
    with pytest.raises(ConfigError, match="unknown user '7'.*3 users"):
        log.user_map.encode([7], "user")


def test_implicit_logs_have_unit_ratings_and_min_rating_filters():
    log = _log([1, 2], [1, 1], [0, 1])
    assert not log.explicit and log.ratings.tolist() == [1.0, 1.0]
    filtered, _, _ = from_raw(np.array([1, 2, 3]), np.array([1, 1, 2]), np.array([1.0, 4.0, 5.0]), min_rating=4)
    assert len(filtered) == 2 and filtered.user_map.raw == ["2", "3"]
    with pytest.raises(ConfigError, match="empty"):
        from_raw(np.array([1]), np.array([1]), np.array([1.0]), min_rating=5)


def test_leave_last_out_holds_out_each_users_latest_interaction():
    users = [1, 1, 1, 2, 2, 3, 4, 4]
    items = [10, 11, 12, 10, 13, 10, 11, 12]
    times = [30, 10, 20, 5, 5, 1, 7, 3]  # user 2's two events tie: the later row counts as the last
    mask = split_mask(_log(users, items, times), "leave_last_out")
    assert mask.tolist() == [True, False, False, False, True, False, True, False]  # user 3 has one event: train


def test_leave_last_out_on_a_larger_log():
    rng = np.random.default_rng(0)
    users, times = rng.integers(0, 50, 2000), rng.integers(0, 10**6, 2000)
    log = _log(users, rng.integers(0, 300, 2000), times)
    mask = split_mask(log, "leave_last_out").numpy()
    for u in np.unique(users):
        rows = np.flatnonzero(users == u)
        if len(rows) < 2:
            assert not mask[rows].any()
            continue
        assert mask[rows].sum() == 1
        held = rows[mask[rows]][0]
        assert times[held] == times[rows].max()


def test_random_and_temporal_splits():
    rng = np.random.default_rng(1)
    log = _log(rng.integers(0, 30, 1000), rng.integers(0, 90, 1000), rng.permutation(1000))
    random = split_mask(log, "random", 0.25, seed=3)
    assert random.sum() == 250 and torch.equal(random, split_mask(log, "random", 0.25, seed=3))
    assert not torch.equal(random, split_mask(log, "random", 0.25, seed=4))
    temporal = split_mask(log, "temporal", 0.1)
    assert temporal.sum() == 100
    assert log.timestamps[temporal].min() > log.timestamps[~temporal].max()
    with pytest.raises(ConfigError, match="leave_last_out"):
        split_mask(log, "by_user")
    with pytest.raises(ConfigError, match="val_fraction"):
        split_mask(log, "random", 1.5)


def test_csr_lists_each_users_items_sorted():
    users, items = torch.tensor([2, 0, 2, 2, 0]), torch.tensor([7, 3, 1, 4, 9])
    indptr, sorted_items = csr(users, items, 4)
    assert indptr.tolist() == [0, 2, 2, 5, 5]
    assert sorted_items.tolist() == [3, 9, 1, 4, 7]
    assert contains(indptr, sorted_items, 2, torch.tensor([1, 2, 7, 9])).tolist() == [True, False, True, False]
    assert not contains(indptr, sorted_items, 1, torch.tensor([3])).any()
