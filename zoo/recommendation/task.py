"""Recommendation on the shared trainer: rating prediction (MSE; RMSE, MAE) and implicit-feedback ranking (BPR,
BCE or in-batch softmax; HR@K, NDCG@K, Recall@K, MRR over all items), with the popularity baseline reported
beside every evaluation as ``pop_*``.

    python -m zoo.train --task recommendation                                    # MF-BPR on the embedded log
    python -m zoo.train --task recommendation --model mf_rating --dataset ml100k        # rating prediction, RMSE
    python -m zoo predict --checkpoint RUN/checkpoints/best --user 196 --k 10
    python -m zoo predict --checkpoint RUN/checkpoints/best --item 50
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from zoo.errors import ConfigError
from zoo.recommendation.datasets import NegativeSampler, PairDataset, UserDataset, collate
from zoo.recommendation.interactions import IdMap, Interactions, RecSplit, csr
from zoo.recommendation.metrics import RankingMetrics, exclude, relevance
from zoo.task import StepOutput, Task, TaskData


@dataclass
class RecommendationOptions:
    loss: Literal["", "bpr", "bce", "softmax", "mse"] = ""  # "": mse for ratings, else the model's own default
    num_negatives: int = 4  # sampled negatives per positive (bpr, bce; extra columns for softmax)
    negative_sampling: Literal["uniform", "popularity"] = "uniform"
    sampling_alpha: float = 0.75  # popularity sampling draws items in proportion to count ** alpha
    l2: float = 0.0  # penalty on the id-embedding rows each example uses (classic MF regularisation)
    logq_correction: bool = True  # softmax: subtract log item frequency from in-batch logits (Yi et al., 2019)
    ks: list[int] = field(default_factory=lambda: [10])  # ranking cutoffs; the first picks the monitored NDCG
    baseline: bool = True  # also report the training-count popularity ranking as pop_* metrics
    mean_shrinkage: float = 10.0  # item mean ratings shrink toward the global mean by this many pseudo-ratings


@dataclass
class RecommendationPredictOptions:
    user: str = field(default="", metadata={"help": "raw user id: list this user's top-K items"})
    item: str = field(default="", metadata={"help": "raw item id: list the K most similar items"})
    k: int = field(default=10, metadata={"help": "how many items to list"})
    include_seen: bool = field(default=False, metadata={"help": "also recommend items the user has seen"})


class Recommendation(Task):
    """Both problems of the domain; the subclass fixes what is learned (``objective``)."""

    Options = RecommendationOptions
    PredictOptions = RecommendationPredictOptions
    objective = "implicit"

    def __init__(self, config: Any):
        objective = config.task_args.get("objective")
        if objective is not None:
            if objective != self.objective:
                problem = "rating" if objective == "rating" else "ranking"
                raise ConfigError(f"task_args.objective is gone: the problem decides it; use --problem {problem} "
                                  f"(model {'mf_rating' if problem == 'rating' else 'mf'})")
            config.task_args = {k: v for k, v in config.task_args.items() if k != "objective"}
        super().__init__(config)
        o = self.options
        if not o.ks:
            raise ConfigError("task_args.ks must list at least one cutoff, e.g. [10]")
        if self.objective == "rating":
            self.monitor, self.monitor_mode = "rmse", "min"
        else:
            self.monitor, self.monitor_mode = f"ndcg@{o.ks[0]}", "max"
        if (self.objective == "rating") != (o.loss in ("", "mse")) and o.loss:
            raise ConfigError(f"task_args.loss={o.loss!r} does not fit objective {self.objective!r}: ratings use mse; "
                              "implicit feedback uses bpr, bce or softmax")
        self.tables: dict[str, Tensor] | None = None
        self.item_counts: Tensor | None = None
        self.rating_range = (1.0, 5.0)

    # -- data ---------------------------------------------------------------------------------------------------
    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: list[RecSplit] = [self.load_split(split) for split in splits]
        log, val = loaded[0].log, loaded[0].val_mask
        o = self.options
        if self.objective == "rating" and not log.explicit:
            raise ConfigError(f"dataset {loaded[0].name!r} has no ratings (implicit feedback): "
                              "train the ranking problem instead (--problem ranking)")
        saved = self.saved_info  # the checkpoint's info when evaluating one: its ids must be this log's
        if saved and (saved["user_ids"] != log.user_map.raw or saved["item_ids"] != log.item_map.raw):
            raise ConfigError(
                f"the checkpoint was trained on a log with other users or items than {loaded[0].name!r} "
                f"({saved['num_users']} users, {saved['num_items']} items; this one has {log.num_users} and "
                f"{log.num_items}): evaluate it on the data it was trained on"
            )
        train = ~val
        users, items, ratings = log.users[train], log.items[train], log.ratings[train]
        if self.objective == "implicit":
            ratings = torch.ones_like(ratings)
        indptr, seen = csr(users, items, log.num_users)
        self.item_counts = torch.bincount(items, minlength=log.num_items).float()
        global_mean = float(ratings.mean()) if self.objective == "rating" else 0.0
        self.rating_range = (float(log.ratings.min()), float(log.ratings.max()))
        self.tables = _tables(log, users, items, ratings, indptr, seen, self.item_counts, global_mean,
                              o.mean_shrinkage if self.objective == "rating" else None)
        f = log.features
        info = {
            "dataset": loaded[0].name,
            "objective": self.objective,
            "num_users": log.num_users,
            "num_items": log.num_items,
            "num_train": int(train.sum()),
            "user_ids": log.user_map.raw,
            "item_ids": log.item_map.raw,
            "titles": log.titles,
            "global_mean": global_mean,
            "rating_range": list(self.rating_range),
            "tables": {
                "interactions": len(seen),
                "user_dense": self.tables["user_dense"].shape[1],
                "item_dense": self.tables["item_dense"].shape[1],
                "user_sparse": list(f.user_cardinalities),
                "item_sparse": list(f.item_cardinalities),
                "item_bag": [f.bag_cardinality, f.item_bags.shape[1]],
            },
            "features": {**f.names, "user_dense": [*f.names.get("user_dense", []), "log_count"],
                         "item_dense": [*f.names.get("item_dense", []), "log_count"]},
        }
        train_set = val_set = None
        if "train" in splits:
            train_set = PairDataset(users, items, ratings)
        if "val" in splits:
            val_set = UserDataset(log.users[val], log.items[val], log.ratings[val], indptr, seen)
            if len(val_set) == 0:
                raise ConfigError(f"the validation split of {loaded[0].name!r} is empty: choose another "
                                  "data.args.split_by or a larger data.args.val_fraction")
        for dataset in (train_set, val_set):
            if dataset is not None:
                dataset.skipped = log.skipped  # type: ignore[attr-defined]  # malformed lines, reported by zoo.fit
        sampler = None
        if o.num_negatives > 0 and self.objective == "implicit":
            sampler = NegativeSampler(indptr, seen, log.num_items, o.num_negatives, o.negative_sampling,
                                      self.item_counts, o.sampling_alpha)
        return TaskData(train_set, val_set, info, collate=collate, train_transform=sampler, eval_transform=sampler)

    # -- model --------------------------------------------------------------------------------------------------
    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_users": info["num_users"], "num_items": info["num_items"], "tables": info["tables"],
                "global_mean": info["global_mean"]}

    def build_model(self, info: dict[str, Any]) -> nn.Module:
        model = super().build_model(info)
        if self._loss_kind(model) == "softmax" and not hasattr(model, "encode_users"):
            raise ConfigError(f"task_args.loss=softmax needs a model with user and item towers (two_tower), "
                              f"not {self.config.model.name!r}; use bpr or bce")
        if self.tables is not None:
            model.tables.fill(self.tables)
        return model

    def _loss_kind(self, model: nn.Module) -> str:
        o = self.options
        return o.loss or ("mse" if self.objective == "rating" else getattr(model, "default_loss", "bce"))

    # -- steps ---------------------------------------------------------------------------------------------------
    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        o = self.options
        metrics: dict[str, Any] = {"ranking": RankingMetrics(o.ks)}
        if o.baseline:
            metrics["popularity"] = RankingMetrics(o.ks, prefix="pop_")
        if self.objective == "rating":
            metrics["rmse"] = MeanSquaredError(squared=False)
            metrics["mae"] = MeanAbsoluteError()
        return MetricCollection(metrics, compute_groups=False)

    def pair_loss(self, model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        users, items, negatives = batch["users"], batch["items"], batch.get("negatives")
        kind = self._loss_kind(model)
        if kind == "mse":
            return F.mse_loss(model(users, items), batch["ratings"])
        if kind == "softmax":
            return self._softmax_loss(model, users, items, negatives)
        if negatives is None:
            raise ConfigError(f"loss {kind!r} needs sampled negatives: set task_args.num_negatives to 1 or more")
        positive, negative = model(users, items), model(users, negatives)
        if kind == "bpr":
            return -F.logsigmoid(positive[:, None] - negative).mean()
        logits = torch.cat([positive[:, None], negative], 1)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1
        return F.binary_cross_entropy_with_logits(logits, labels)

    def _softmax_loss(self, model: nn.Module, users: Tensor, items: Tensor, negatives: Tensor | None) -> Tensor:
        """In-batch softmax: each user's positive against the other positives of the batch."""
        u = model.encode_users(users)
        logits = u @ model.encode_items(items).T / model.temperature
        if self.options.logq_correction:
            counts = model.tables.item_count
            logits = logits - torch.log(counts[items].clamp(min=1) / counts.sum().clamp(min=1))[None, :]
        duplicate = items[None, :] == items[:, None]
        duplicate.fill_diagonal_(False)  # the same item twice in a batch is not a negative for either row
        logits = logits.masked_fill(duplicate, float("-inf"))
        if negatives is not None:
            extra = (u[:, None, :] * model.encode_items(negatives)).sum(-1) / model.temperature
            logits = torch.cat([logits, extra], 1)
        return F.cross_entropy(logits, torch.arange(len(users), device=users.device))

    def train_step(self, model: nn.Module, batch: dict[str, Tensor]) -> StepOutput:
        loss = self.pair_loss(model, batch)
        if self.options.l2 > 0:
            items = batch["items"] if "negatives" not in batch else torch.cat([batch["items"][:, None],
                                                                                batch["negatives"]], 1)
            loss = loss + self.options.l2 * model.penalty(batch["users"], items)
        return StepOutput(loss, len(batch["users"]))

    def eval_step(self, model: nn.Module, batch: dict[str, Tensor], metrics: MetricCollection) -> StepOutput:
        if "target_items" not in batch:  # training pairs (evaluate --split train): the loss and rating errors
            nothing = torch.zeros(0, self.item_counts.numel(), device=batch["users"].device)
            for name in ("ranking", "popularity"):  # no user is ranked: their values stay NaN
                if name in metrics:
                    metrics[name].update(nothing, nothing.bool())
            if self.objective == "rating":
                self._rating_metrics(metrics, model(batch["users"], batch["items"]), batch["ratings"])
            return StepOutput(self.pair_loss(model, batch), len(batch["users"]))
        users, rows, items = batch["users"], batch["target_rows"], batch["target_items"]
        scores = exclude(model.score_all(users).float(), batch["seen_rows"], batch["seen_items"])
        relevant = relevance(scores.shape, rows, items, batch["target_relevant"])
        metrics["ranking"].update(scores, relevant)
        if self.options.baseline:
            popularity = self.item_counts.to(scores.device).expand(len(users), -1)
            metrics["popularity"].update(exclude(popularity, batch["seen_rows"], batch["seen_items"]), relevant)
        if self.objective == "rating":
            predicted = model(users[rows], items).float()
            self._rating_metrics(metrics, predicted, batch["target_ratings"])
            return StepOutput(F.mse_loss(predicted, batch["target_ratings"]), len(items))
        # full-catalogue cross-entropy of the held-out items among the items the user has not seen
        keep = batch["target_relevant"]
        if not bool(keep.any()):
            return StepOutput(scores.new_zeros(()), 0)
        losses = torch.logsumexp(scores, 1)[rows[keep]] - scores[rows[keep], items[keep]]
        return StepOutput(losses.mean(), int(keep.sum()))

    def _rating_metrics(self, metrics: MetricCollection, predicted: Tensor, target: Tensor) -> None:
        """RMSE and MAE of predictions clipped to the rating scale, as is usual for MovieLens."""
        low, high = self.rating_range
        clipped = predicted.float().clamp(low, high)
        metrics["rmse"].update(clipped, target)
        metrics["mae"].update(clipped, target)

    # -- prediction -----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_inputs(self, directory: Path, info: dict[str, Any]) -> list[str]:
        """Raw user ids, as ``predict`` takes them: the first two users of the log."""
        return [str(user) for user in info["user_ids"][:2]]

    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
        options: RecommendationPredictOptions | None = None,
    ) -> list[dict[str, Any]]:
        """Top-K items for each user in ``inputs`` and ``--user``, similar items for ``--item``."""
        o = options or RecommendationPredictOptions()
        users = [*inputs, *([o.user] if o.user else [])]
        if not users and not o.item:
            raise ConfigError("recommendation predict needs --user USER_ID (or user ids as inputs) or --item ITEM_ID")
        if o.k < 1:
            raise ConfigError(f"--k must be at least 1, got {o.k}")
        model.eval()
        items = IdMap(info["item_ids"])
        titles = info.get("titles") or [""] * len(items)
        k = min(o.k, len(items))

        def listing(indices: list[int], values: list[float]) -> list[dict[str, Any]]:
            return [{"item": items.raw[i], "title": titles[i], "score": round(v, 4)}
                    for i, v in zip(indices, values) if v != float("-inf")]

        predictions = []
        if users:
            index = IdMap(info["user_ids"]).encode(users, "user").to(device)
            scores = model.score_all(index).float()
            seen = [model.tables.seen(int(u)) for u in index]
            if not o.include_seen:
                for row, items_seen in enumerate(seen):
                    scores[row, items_seen] = float("-inf")
            top = scores.topk(k, dim=1)
            for user, s, values, indices in zip(users, seen, top.values.tolist(), top.indices.tolist()):
                predictions.append({"user": str(user), "seen": len(s), "top": listing(indices, values)})
        if o.item:
            index = items.encode([o.item], "item").to(device)
            vectors = F.normalize(model.item_vectors().float(), dim=1)
            similarity = vectors @ vectors[index[0]]
            similarity[index[0]] = float("-inf")
            top = similarity.topk(k)
            predictions.append({"item": str(o.item), "title": titles[int(index[0])],
                                "similar": listing(top.indices.tolist(), top.values.tolist())})
        return predictions

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        if "user" in prediction:
            head = f"user {prediction['user']} ({prediction['seen']} items seen): top {len(prediction['top'])}"
            entries = prediction["top"]
        else:
            title = f" {prediction['title']}" if prediction["title"] else ""
            head = f"item {prediction['item']}{title}: {len(prediction['similar'])} most similar"
            entries = prediction["similar"]
        width = max((len(e["item"]) for e in entries), default=0)
        lines = [f"{rank:>4}. {e['item']:<{width}}  {e['score']:>8.4f}  {e['title']}".rstrip()
                 for rank, e in enumerate(entries, 1)]
        return "\n".join([head, *lines])


def _tables(
    log: Interactions, users: Tensor, items: Tensor, ratings: Tensor, indptr: Tensor, seen: Tensor,
    item_counts: Tensor, global_mean: float, shrinkage: float | None,
) -> dict[str, Tensor]:
    """What models keep from the training split: seen items, counts, mean ratings and side features."""
    f = log.features
    user_counts = torch.bincount(users, minlength=log.num_users).float()
    item_mean = torch.zeros(log.num_items)
    if shrinkage is not None:
        sums = torch.zeros(log.num_items).index_add_(0, items, ratings - global_mean)
        item_mean = sums / (item_counts + shrinkage)
    return {
        "seen_indptr": indptr,
        "seen_items": seen,
        "item_count": item_counts,
        "item_mean": item_mean,
        "user_dense": torch.cat([f.user_dense, _z(torch.log1p(user_counts))[:, None]], 1),
        "item_dense": torch.cat([f.item_dense, _z(torch.log1p(item_counts))[:, None]], 1),
        "user_sparse": f.user_sparse,
        "item_sparse": f.item_sparse,
        "item_bags": f.item_bags,
    }


def _z(values: Tensor) -> Tensor:
    return (values - values.mean()) / values.std().clamp(min=1e-6)


class Ranking(Recommendation):
    """Top-K ranking from implicit feedback: every interaction is a positive, the rest are ranked against it."""

    objective = "implicit"


class RatingPrediction(Recommendation):
    """Explicit ratings predicted with MSE and scored by RMSE and MAE."""

    objective = "rating"
