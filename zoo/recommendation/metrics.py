"""Ranking metrics over the whole catalogue, a batch of users at a time, as torchmetrics states.

For each user the scores of all items are ranked once (``topk`` over a ``(users, items)`` matrix), with the user's
training items excluded (their score is ``-inf``). With ``R`` relevant (held-out) items and ``hits@K`` of them in
the top ``K``:

- HR@K (hit rate): 1 if any relevant item is in the top K.
- Recall@K: hits@K / R.
- NDCG@K: sum over hits of 1/log2(rank+1), divided by the same sum for a perfect ranking of min(R, K) items.
- MRR: 1 / rank of the best-ranked relevant item in the full ranking; items with a tied score count half.

Each is averaged over users that have at least one relevant item. States are sums and a user count reduced with
``sum``, so the values are exact across batches and ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric


class RankingMetrics(Metric):
    """HR@K, NDCG@K, Recall@K for each K in ``ks``, and MRR, named with ``prefix`` (e.g. ``pop_``)."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, ks: Sequence[int] = (10,), prefix: str = "", **kwargs):
        super().__init__(**kwargs)
        if not ks or any(k < 1 for k in ks):
            raise ValueError(f"ks must be positive cutoffs, got {list(ks)}")
        self.ks, self.prefix = sorted(set(int(k) for k in ks)), prefix
        for k in self.ks:
            for name in ("hr", "ndcg", "recall"):
                self.add_state(f"{name}_{k}", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("mrr", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("users", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, scores: Tensor, relevant: Tensor) -> None:
        """``scores`` (users, items) with ``-inf`` where excluded; ``relevant`` a bool mask of the same shape."""
        scores = scores.float()
        num_relevant = relevant.sum(1)
        keep = num_relevant > 0
        if not bool(keep.any()):
            return
        scores, relevant, num_relevant = scores[keep], relevant[keep], num_relevant[keep].double()
        k_max = min(max(self.ks), scores.shape[1])
        top = scores.topk(k_max, dim=1).indices
        hits = relevant.gather(1, top).double()
        discounts = 1.0 / torch.log2(torch.arange(2, k_max + 2, device=scores.device, dtype=torch.float64))
        ideal_cumulative = torch.cumsum(discounts, 0)
        for k in self.ks:
            kk = min(k, k_max)
            found = hits[:, :kk]
            dcg = (found * discounts[:kk]).sum(1)
            idcg = ideal_cumulative[(num_relevant.clamp(max=kk) - 1).long()]
            getattr(self, f"hr_{k}").add_((found.sum(1) > 0).double().sum())
            getattr(self, f"recall_{k}").add_((found.sum(1) / num_relevant).sum())
            getattr(self, f"ndcg_{k}").add_((dcg / idcg).sum())
        best = scores.masked_fill(~relevant, float("-inf")).max(1, keepdim=True).values
        above = (scores > best).sum(1).double()
        tied = (scores == best).sum(1).double() - 1
        self.mrr.add_((1.0 / (1.0 + above + tied / 2)).sum())
        self.users.add_(float(keep.sum()))

    def compute(self) -> dict[str, Tensor]:
        count = self.users
        nan = torch.tensor(float("nan"), dtype=torch.float64, device=count.device)

        def mean(total: Tensor) -> Tensor:
            return total / count if count > 0 else nan

        results = {}
        for k in self.ks:
            for name in ("hr", "ndcg", "recall"):
                results[f"{self.prefix}{name}@{k}"] = mean(getattr(self, f"{name}_{k}"))
        results[f"{self.prefix}mrr"] = mean(self.mrr)
        return results


def exclude(scores: Tensor, rows: Tensor, items: Tensor) -> Tensor:
    """``scores`` with ``-inf`` at (row, item) pairs: training items are not recommended again."""
    return scores.index_put((rows, items), torch.tensor(float("-inf"), device=scores.device, dtype=scores.dtype))


def relevance(shape: tuple[int, int], rows: Tensor, items: Tensor, relevant: Tensor) -> Tensor:
    mask = torch.zeros(shape, dtype=torch.bool, device=rows.device)
    mask[rows[relevant], items[relevant]] = True
    return mask
