"""Ranking metrics against values worked out by hand."""

import math

import pytest
import torch

from zoo.recommendation.metrics import RankingMetrics, exclude, relevance

INF = float("-inf")


def _compute(scores, relevant, ks=(1, 3)):
    metric = RankingMetrics(ks)
    metric.update(torch.tensor(scores), torch.tensor(relevant))
    return {k: float(v) for k, v in metric.compute().items()}


def test_one_user_one_relevant_item():
    # ranking: item 2 (0.9), item 0 (0.8), item 3 (0.5), item 1 (0.1); the relevant item 3 is third
    got = _compute([[0.8, 0.1, 0.9, 0.5]], [[False, False, False, True]])
    assert got["hr@1"] == 0 and got["hr@3"] == 1
    assert got["ndcg@1"] == 0 and got["ndcg@3"] == pytest.approx(1 / math.log2(4))
    assert got["recall@3"] == 1 and got["mrr"] == pytest.approx(1 / 3)


def test_several_relevant_items_and_an_average_over_users():
    scores = [[0.9, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]]
    relevant = [[True, False, True, False, True], [True, False, False, False, False]]
    got = _compute(scores, relevant)
    # user 0: relevant at ranks 1, 3, 5. @3: 2 hits; DCG = 1 + 1/log2(4); IDCG = 1 + 1/log2(3) + 1/log2(4)
    ndcg0 = (1 + 0.5) / (1 + 1 / math.log2(3) + 0.5)
    # user 1: its relevant item is ranked last (5th): no hit at 3, reciprocal rank 1/5
    assert got["ndcg@3"] == pytest.approx(ndcg0 / 2)
    assert got["recall@3"] == pytest.approx((2 / 3) / 2)
    assert got["hr@3"] == pytest.approx(0.5) and got["hr@1"] == pytest.approx(0.5)
    assert got["ndcg@1"] == pytest.approx(0.5)
    assert got["mrr"] == pytest.approx((1 + 1 / 5) / 2)


def test_excluded_items_do_not_take_ranks():
    scores = exclude(torch.tensor([[5.0, 4.0, 3.0, 2.0]]), torch.tensor([0, 0]), torch.tensor([0, 1]))
    assert scores.tolist() == [[INF, INF, 3.0, 2.0]]
    relevant = relevance((1, 4), torch.tensor([0, 0]), torch.tensor([3, 0]), torch.tensor([True, False]))
    assert relevant.tolist() == [[False, False, False, True]]
    metric = RankingMetrics([1, 2])
    metric.update(scores, relevant)
    got = metric.compute()
    assert float(got["hr@1"]) == 0 and float(got["hr@2"]) == 1 and float(got["mrr"]) == pytest.approx(0.5)


@pytest.mark.filterwarnings("ignore:The ``compute`` method")
def test_ties_count_half_in_mrr_and_users_without_targets_are_skipped():
    got = _compute([[1.0, 1.0, 1.0, 0.0], [0.3, 0.2, 0.1, 0.0]], [[False, True, False, False], [False] * 4])
    assert got["mrr"] == pytest.approx(1 / 2)  # two other items tie with it: expected rank 1 + 2/2
    empty = RankingMetrics([5], prefix="pop_")
    assert math.isnan(float(empty.compute()["pop_hr@5"]))


def test_batches_accumulate_exactly():
    torch.manual_seed(0)
    scores, relevant = torch.randn(40, 30), torch.rand(40, 30) < 0.1
    whole, parts = RankingMetrics([5, 10]), RankingMetrics([5, 10])
    whole.update(scores, relevant)
    for rows in torch.arange(40).split(7):
        parts.update(scores[rows], relevant[rows])
    a, b = whole.compute(), parts.compute()
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k]) for k in a)


def test_cutoff_beyond_the_catalogue():
    got = _compute([[0.2, 0.1]], [[False, True]], ks=(10,))
    assert got["hr@10"] == 1 and got["ndcg@10"] == pytest.approx(1 / math.log2(3))
