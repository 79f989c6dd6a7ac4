"""Recommenders on plain torch embeddings: popularity, biased MF, NeuMF, a two-tower retriever and DLRM.

Every model scores pairs (``model(users, items)``, items of shape ``(B,)`` or ``(B, M)``) and ranks the whole
catalogue for a batch of users (``score_all``). Each carries ``tables``: what it needs from the training data at
inference as buffers (the items each user has seen, item counts and mean ratings, side features), so a checkpoint
alone can recommend. Embedding tables here live on one device; see docs/recommendation.md for where sharded tables
(TorchRec) take over.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError

_PAIR_CHUNK = 1 << 18  # (user, item) pairs scored at once by models without a factorised score_all


class DataTables(nn.Module):
    """Training-data tables a model keeps with its weights; shapes come from ``spec`` (the task's ``info``)."""

    def __init__(self, num_users: int, num_items: int, spec: dict[str, Any] | None = None):
        super().__init__()
        spec = spec or {}
        bag_cardinality, bag_width = spec.get("item_bag", [0, 0])
        self.user_cardinalities = list(spec.get("user_sparse", []))
        self.item_cardinalities = list(spec.get("item_sparse", []))
        self.bag_cardinality = int(bag_cardinality)
        shapes = {
            "seen_indptr": ((num_users + 1,), torch.int64),
            "seen_items": ((int(spec.get("interactions", 0)),), torch.int64),
            "item_count": ((num_items,), torch.float32),
            "item_mean": ((num_items,), torch.float32),
            "user_dense": ((num_users, int(spec.get("user_dense", 0))), torch.float32),
            "item_dense": ((num_items, int(spec.get("item_dense", 0))), torch.float32),
            "user_sparse": ((num_users, len(self.user_cardinalities)), torch.int64),
            "item_sparse": ((num_items, len(self.item_cardinalities)), torch.int64),
            "item_bags": ((num_items, int(bag_width)), torch.int64),
        }
        for name, (shape, dtype) in shapes.items():
            self.register_buffer(name, torch.zeros(shape, dtype=dtype))

    def fill(self, values: dict[str, Tensor]) -> None:
        for name, value in values.items():
            buffer = getattr(self, name)
            if buffer.shape != value.shape:
                raise ValueError(f"table {name}: expected shape {tuple(buffer.shape)}, got {tuple(value.shape)}")
            buffer.copy_(value)

    def seen(self, user: int) -> Tensor:
        return self.seen_items[int(self.seen_indptr[user]) : int(self.seen_indptr[user + 1])]


class Recommender(nn.Module):
    """Scores (user, item) pairs; subclasses define ``score_pairs`` and may factorise ``score_all``."""

    default_loss = "bce"  # implicit-feedback loss used when task_args.loss is empty

    def __init__(self, num_users: int, num_items: int, tables: dict[str, Any] | None = None):
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.tables = DataTables(num_users, num_items, tables)
        self.user_embeddings: list[nn.Module] = []  # id tables whose looked-up rows task_args.l2 penalises
        self.item_embeddings: list[nn.Module] = []

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        if items.ndim == 2:
            flat = self.score_pairs(users[:, None].expand_as(items).reshape(-1), items.reshape(-1))
            return flat.view(items.shape)
        return self.score_pairs(users, items)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        raise NotImplementedError

    def score_all(self, users: Tensor) -> Tensor:
        """Scores of every item for each user, ``(len(users), num_items)``, in chunks of pairs."""
        items = torch.arange(self.num_items, device=users.device)
        step = max(1, _PAIR_CHUNK // self.num_items)
        rows = [self(chunk, items.expand(len(chunk), -1)) for chunk in users.split(step)]
        return torch.cat(rows)

    def item_vectors(self) -> Tensor:
        raise ConfigError(f"model {type(self).__name__} has no item vectors; similar items need mf, neumf, "
                          "two_tower or dlrm")

    def penalty(self, users: Tensor, items: Tensor) -> Tensor:
        """Squared norms of the id-embedding rows a batch uses, per example: the classic MF regulariser."""
        total = sum(t.weight[users.reshape(-1)].pow(2).sum() for t in self.user_embeddings)
        total = total + sum(t.weight[items.reshape(-1)].pow(2).sum() for t in self.item_embeddings)
        return total / max(len(users), 1)


def _embedding(count: int, dim: int, std: float) -> nn.Embedding:
    table = nn.Embedding(count, dim)
    nn.init.normal_(table.weight, std=std)
    return table


def _mlp(sizes: list[int], last_activation: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if last_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Popularity(Recommender):
    """Item popularity: ``bias + w0 * z(log1p(count)) + w1 * mean_rating_offset`` from training statistics.

    The ranking is the training-count ranking whenever ``w0 > 0`` (mean ratings are zero for implicit feedback);
    the three weights only calibrate scores to the loss, so training is a formality that the shared trainer runs.
    """

    def __init__(self, num_users: int, num_items: int, tables: dict[str, Any] | None = None, global_mean: float = 0.0):
        super().__init__(num_users, num_items, tables)
        self.weight = nn.Parameter(torch.ones(2))
        self.bias = nn.Parameter(torch.tensor(float(global_mean)))

    def item_scores(self) -> Tensor:
        log_count = torch.log1p(self.tables.item_count)
        z = (log_count - log_count.mean()) / log_count.std().clamp(min=1e-6)
        return self.bias + self.weight[0] * z + self.weight[1] * self.tables.item_mean

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return self.item_scores()[items]

    def score_all(self, users: Tensor) -> Tensor:
        return self.item_scores().expand(len(users), -1)


class MatrixFactorization(Recommender):
    """Biased MF (Koren et al., 2009): ``mu + b_u + b_i + <p_u, q_i>``."""

    default_loss = "bpr"

    def __init__(
        self,
        num_users: int,
        num_items: int,
        tables: dict[str, Any] | None = None,
        dim: int = 32,
        global_mean: float = 0.0,
        init_std: float = 0.01,
    ):
        super().__init__(num_users, num_items, tables)
        self.user = _embedding(num_users, dim, init_std)
        self.item = _embedding(num_items, dim, init_std)
        self.user_bias = _embedding(num_users, 1, 0.0)
        self.item_bias = _embedding(num_items, 1, 0.0)
        self.bias = nn.Parameter(torch.tensor(float(global_mean)))
        self.user_embeddings = [self.user, self.user_bias]
        self.item_embeddings = [self.item, self.item_bias]

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        dot = (self.user(users) * self.item(items)).sum(-1)
        return self.bias + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + dot

    def score_all(self, users: Tensor) -> Tensor:
        return self.bias + self.user_bias(users) + self.item_bias.weight.T + self.user(users) @ self.item.weight.T

    def item_vectors(self) -> Tensor:
        return self.item.weight


class NeuMF(Recommender):
    """NeuMF (He et al., 2017): a generalised MF branch and an MLP branch over separate embeddings, fused."""

    def __init__(
        self,
        num_users: int,
        num_items: int,
        tables: dict[str, Any] | None = None,
        dim: int = 16,
        mlp_dim: int = 32,
        layers: tuple[int, ...] | list[int] = (64, 32, 16),
        dropout: float = 0.0,
        init_std: float = 0.01,
    ):
        super().__init__(num_users, num_items, tables)
        self.user_gmf, self.item_gmf = _embedding(num_users, dim, init_std), _embedding(num_items, dim, init_std)
        self.user_mlp = _embedding(num_users, mlp_dim, init_std)
        self.item_mlp = _embedding(num_items, mlp_dim, init_std)
        sizes = [2 * mlp_dim, *layers]
        self.mlp = _mlp(sizes)
        self.dropout = nn.Dropout(dropout)
        self.predict = nn.Linear(dim + sizes[-1], 1)
        self.user_embeddings = [self.user_gmf, self.user_mlp]
        self.item_embeddings = [self.item_gmf, self.item_mlp]

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        gmf = self.user_gmf(users) * self.item_gmf(items)
        mlp = self.mlp(torch.cat([self.user_mlp(users), self.item_mlp(items)], -1))
        return self.predict(self.dropout(torch.cat([gmf, mlp], -1))).squeeze(-1)

    def item_vectors(self) -> Tensor:
        return torch.cat([self.item_gmf.weight, self.item_mlp.weight], 1)


class TwoTower(Recommender):
    """Two towers (Yi et al., 2019) mapping a user's and an item's id and side features to unit vectors;
    the score is their dot product over a temperature, so retrieval is one matrix product (or an ANN index)."""

    default_loss = "softmax"

    def __init__(
        self,
        num_users: int,
        num_items: int,
        tables: dict[str, Any] | None = None,
        dim: int = 32,
        embed_dim: int = 32,
        hidden: int = 64,
        temperature: float = 0.1,
        init_std: float = 0.05,
    ):
        super().__init__(num_users, num_items, tables)
        t = self.tables
        self.temperature = temperature
        self.user_id = _embedding(num_users, embed_dim, init_std)
        self.item_id = _embedding(num_items, embed_dim, init_std)
        self.user_fields = nn.ModuleList(_embedding(c, embed_dim, init_std) for c in t.user_cardinalities)
        self.item_fields = nn.ModuleList(_embedding(c, embed_dim, init_std) for c in t.item_cardinalities)
        self.genres = (
            nn.EmbeddingBag(t.bag_cardinality + 1, embed_dim, mode="mean", padding_idx=t.bag_cardinality)
            if t.item_bags.shape[1] else None
        )
        user_in = embed_dim * (1 + len(self.user_fields)) + t.user_dense.shape[1]
        item_in = embed_dim * (1 + len(self.item_fields) + (self.genres is not None)) + t.item_dense.shape[1]
        self.user_tower = _mlp([user_in, hidden, dim], last_activation=False)
        self.item_tower = _mlp([item_in, hidden, dim], last_activation=False)
        self.user_embeddings, self.item_embeddings = [self.user_id], [self.item_id]

    def encode_users(self, users: Tensor) -> Tensor:
        t = self.tables
        parts = [self.user_id(users), *(f(t.user_sparse[users, k]) for k, f in enumerate(self.user_fields))]
        return F.normalize(self.user_tower(torch.cat([*parts, t.user_dense[users]], -1)), dim=-1)

    def encode_items(self, items: Tensor) -> Tensor:
        t = self.tables
        parts = [self.item_id(items), *(f(t.item_sparse[items, k]) for k, f in enumerate(self.item_fields))]
        if self.genres is not None:
            shape = items.shape
            parts.append(self.genres(t.item_bags[items.reshape(-1)]).view(*shape, -1))
        return F.normalize(self.item_tower(torch.cat([*parts, t.item_dense[items]], -1)), dim=-1)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return (self.encode_users(users) * self.encode_items(items)).sum(-1) / self.temperature

    def score_all(self, users: Tensor) -> Tensor:
        return self.encode_users(users) @ self.item_vectors().T / self.temperature

    def item_vectors(self) -> Tensor:
        return self.encode_items(torch.arange(self.num_items, device=self.item_id.weight.device))


class DLRM(Recommender):
    """DLRM (Naumov et al., 2019): dense features through a bottom MLP, every sparse feature (user id, item id,
    categorical columns, the genre bag) through an embedding bag, pairwise dot products of all of them, and a top
    MLP on the dense vector and the dot products. Dense inputs always include the user's and item's training counts.
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        tables: dict[str, Any] | None = None,
        dim: int = 16,
        bottom: tuple[int, ...] | list[int] = (32,),
        top: tuple[int, ...] | list[int] = (64, 32),
        init_std: float = 0.05,
    ):
        super().__init__(num_users, num_items, tables)
        t = self.tables
        dense_in = t.user_dense.shape[1] + t.item_dense.shape[1]
        if dense_in == 0:
            raise ConfigError("dlrm needs dense features: pass tables with user_dense or item_dense columns "
                              "(the task adds training counts)")
        self.bottom = _mlp([dense_in, *bottom, dim])

        def bag(count: int, mode: str = "sum", padding: int | None = None) -> nn.EmbeddingBag:
            table = nn.EmbeddingBag(count, dim, mode=mode, padding_idx=padding)
            nn.init.normal_(table.weight, std=init_std)
            if padding is not None:
                with torch.no_grad():
                    table.weight[padding].zero_()
            return table

        self.user_id, self.item_id = bag(num_users), bag(num_items)
        self.user_fields = nn.ModuleList(bag(c) for c in t.user_cardinalities)
        self.item_fields = nn.ModuleList(bag(c) for c in t.item_cardinalities)
        self.genres = bag(t.bag_cardinality + 1, "mean", t.bag_cardinality) if t.item_bags.shape[1] else None
        features = 3 + len(self.user_fields) + len(self.item_fields) + (self.genres is not None)
        self.register_buffer("pairs", torch.triu_indices(features, features, offset=1), persistent=False)
        self.top = _mlp([dim + self.pairs.shape[1], *top, 1], last_activation=False)
        self.user_embeddings, self.item_embeddings = [self.user_id], [self.item_id]

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        t = self.tables
        dense = self.bottom(torch.cat([t.user_dense[users], t.item_dense[items]], -1))
        vectors = [dense, self.user_id(users[:, None]), self.item_id(items[:, None])]
        vectors += [f(t.user_sparse[users, k, None]) for k, f in enumerate(self.user_fields)]
        vectors += [f(t.item_sparse[items, k, None]) for k, f in enumerate(self.item_fields)]
        if self.genres is not None:
            vectors.append(self.genres(t.item_bags[items]))
        stacked = torch.stack(vectors, 1)
        dots = torch.bmm(stacked, stacked.transpose(1, 2))[:, self.pairs[0], self.pairs[1]]
        return self.top(torch.cat([dense, dots], -1)).squeeze(-1)

    def item_vectors(self) -> Tensor:
        return self.item_id.weight


def popularity(num_users: int, num_items: int, tables: dict[str, Any] | None = None, global_mean: float = 0.0):
    return Popularity(num_users, num_items, tables, global_mean)


def mf(num_users: int, num_items: int, tables: dict[str, Any] | None = None, dim: int = 32, global_mean: float = 0.0,
       init_std: float = 0.01) -> MatrixFactorization:
    return MatrixFactorization(num_users, num_items, tables, dim, global_mean, init_std)


def neumf(num_users: int, num_items: int, tables: dict[str, Any] | None = None, dim: int = 16, mlp_dim: int = 32,
          layers: tuple[int, ...] | list[int] = (64, 32, 16), dropout: float = 0.0, init_std: float = 0.01) -> NeuMF:
    return NeuMF(num_users, num_items, tables, dim, mlp_dim, tuple(layers), dropout, init_std)


def two_tower(num_users: int, num_items: int, tables: dict[str, Any] | None = None, dim: int = 32, embed_dim: int = 32,
              hidden: int = 64, temperature: float = 0.1, init_std: float = 0.05) -> TwoTower:
    return TwoTower(num_users, num_items, tables, dim, embed_dim, hidden, temperature, init_std)


def dlrm(num_users: int, num_items: int, tables: dict[str, Any] | None = None, dim: int = 16,
         bottom: tuple[int, ...] | list[int] = (32,), top: tuple[int, ...] | list[int] = (64, 32),
         init_std: float = 0.05) -> DLRM:
    return DLRM(num_users, num_items, tables, dim, tuple(bottom), tuple(top), init_std)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["popularity", "mf", "neumf", "two_tower", "dlrm", "DataTables", "Recommender", "count_parameters"]
