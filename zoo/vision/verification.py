"""Face verification and identification metrics on embeddings of people the model never saw in training.

- **LFW protocol**: the pairs are split in ten folds; for each fold the similarity threshold that classifies the
  other nine folds' pairs best is chosen and the fold's pairs are scored with it; the accuracy is the mean over the
  ten folds (Huang et al., 2007, "View 2").
- **ROC AUC** and **TAR at FAR = 1e-3** (true accept rate at the threshold where at most one in a thousand
  mismatched pairs is accepted) over all pairs, with torchmetrics' ROC.
- **Identification top-1**: the first image of every identity forms the gallery, every other image is a probe,
  and a probe is right when its nearest gallery embedding is of its identity.

:class:`FaceVerification` gathers the embeddings of an evaluated split (a torchmetrics Metric, so ranks are
synchronised by torchmetrics) and computes all of them at the end from the split's list of pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.functional.classification import binary_auroc, binary_roc

FAR = 1e-3


def best_threshold(similarity: Tensor, same: Tensor) -> tuple[float, float]:
    """The threshold that classifies ``similarity > threshold`` as "same person" with the highest accuracy on
    these pairs, and that accuracy.

    Only the gaps between sorted similarities matter, so every gap is tried: the threshold is the midpoint of the
    gap (a point above the largest or below the smallest similarity at the ends); among equally good gaps the
    highest threshold wins, the one that accepts least.
    """
    order = similarity.double().argsort(descending=True)
    values, truth = similarity.double()[order], same.bool()[order]
    n, positives = len(values), int(truth.sum())
    # Accepting the top k pairs, k = 0..n: true accepts plus true rejects.
    true_accepts = torch.cat([torch.zeros(1, dtype=torch.long), truth.long().cumsum(0)])
    accepted = torch.arange(n + 1)
    correct = true_accepts + (n - positives) - (accepted - true_accepts)
    # A cut is only possible between distinct values: k may not split a run of equal similarities.
    valid = torch.ones(n + 1, dtype=torch.bool)
    valid[1:n] = values[:-1] != values[1:]
    correct = torch.where(valid, correct, torch.full_like(correct, -1))
    k = int(correct.argmax())  # the first maximum: the fewest accepted pairs
    if k == 0:
        threshold = float(values[0]) + 1.0
    elif k == n:
        threshold = float(values[-1]) - 1.0
    else:
        threshold = float(values[k - 1] + values[k]) / 2
    return threshold, float(correct[k]) / n


def ten_fold_accuracy(similarity: Tensor, same: Tensor, folds: Tensor) -> tuple[float, float, list[float]]:
    """Mean and standard deviation over folds of the accuracy of each fold at the threshold chosen on the other
    folds, and those thresholds (the LFW protocol; any number of folds, at least two)."""
    accuracies, thresholds = [], []
    names = folds.unique().tolist()
    if len(names) < 2:
        raise ValueError(f"the fold protocol needs at least two folds, got {len(names)}")
    for fold in names:
        held_out = folds == fold
        threshold, _ = best_threshold(similarity[~held_out], same[~held_out])
        predicted = similarity[held_out].double() > threshold
        accuracies.append(float((predicted == same[held_out].bool()).double().mean()))
        thresholds.append(threshold)
    accuracy = torch.tensor(accuracies, dtype=torch.float64)
    return float(accuracy.mean()), float(accuracy.std(unbiased=False)), thresholds


def roc(similarity: Tensor, same: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """False and true accept rates at every threshold, with the thresholds as cosine similarities."""
    scores = (similarity.double().clamp(-1, 1) + 1) / 2  # torchmetrics wants probabilities in [0, 1]
    far, tar, thresholds = binary_roc(scores, same.long(), thresholds=None)
    return far, tar, thresholds * 2 - 1


def tar_at_far(similarity: Tensor, same: Tensor, far_target: float = FAR) -> tuple[float, float]:
    """The highest true accept rate whose false accept rate is at most ``far_target``, and its threshold."""
    far, tar, thresholds = roc(similarity, same)
    allowed = far <= far_target
    best = int(torch.where(allowed, tar, torch.full_like(tar, -1)).argmax())
    return float(tar[best]), float(thresholds[best])


def identification_top1(embeddings: Tensor, labels: Tensor) -> float | None:
    """Top-1 of every image against a gallery of the first image of each identity; None without probes."""
    first = {}
    for index, label in enumerate(labels.tolist()):
        first.setdefault(label, index)
    gallery = torch.tensor(list(first.values()), dtype=torch.long)
    is_gallery = torch.zeros(len(labels), dtype=torch.bool)
    is_gallery[gallery] = True
    probes = (~is_gallery).nonzero().squeeze(1)
    if probes.numel() == 0:
        return None
    nearest = (embeddings[probes] @ embeddings[gallery].T).argmax(dim=1)
    return float((labels[gallery][nearest] == labels[probes]).double().mean())


def pair_scores(embeddings: Tensor, pairs: Tensor) -> Tensor:
    """Cosine similarity of each pair ``(index_a, index_b, ...)`` of L2-normalised embeddings."""
    return (embeddings[pairs[:, 0]] * embeddings[pairs[:, 1]]).sum(dim=1)


def verification_scores(
    embeddings: Tensor, labels: Tensor, pairs: Tensor, far_target: float = FAR
) -> dict[str, float]:
    """Every metric of this module: ``pairs`` rows are ``(index_a, index_b, same, fold)`` into ``embeddings``.

    A metric the pairs cannot define is NaN: the fold protocol without two folds holding both kinds of pair, the
    ROC without a matched and a mismatched pair, identification without a probe.
    """
    nan = float("nan")
    similarity = pair_scores(embeddings.double(), pairs)
    same, folds = pairs[:, 2].bool(), pairs[:, 3]
    both_kinds = bool(same.any()) and bool((~same).any())
    if both_kinds and len(folds.unique()) >= 2:
        accuracy, spread, thresholds = ten_fold_accuracy(similarity, same, folds)
        threshold = sum(thresholds) / len(thresholds)
    else:
        accuracy = spread = threshold = nan
    top1 = identification_top1(embeddings.float(), labels)
    return {
        "verification_accuracy": accuracy,
        "verification_accuracy_std": spread,
        "threshold": threshold,
        "roc_auc": float(binary_auroc((similarity.clamp(-1, 1) + 1) / 2, same.long())) if both_kinds else nan,
        "tar_at_far_1e-3" if far_target == FAR else f"tar_at_far_{far_target:g}":
            tar_at_far(similarity, same, far_target)[0] if both_kinds else nan,
        "identification_top1": nan if top1 is None else top1,
    }


class FaceVerification(Metric):
    """Collects ``(embedding, identity, item index)`` of an evaluated split and scores the split's ``pairs``.

    Items are put back in index order (and duplicates dropped) before scoring, so the result does not depend on
    batching or on how ranks shared the split. ``record``, when given, receives the threshold chosen (the mean of
    the ten folds'), so that the checkpoint saved after this evaluation carries it for ``predict --compare``.
    """

    full_state_update = False

    def __init__(self, pairs: Tensor, record: dict[str, Any] | None = None, far_target: float = FAR):
        super().__init__()
        self.pairs, self.record, self.far_target = pairs.long(), record, far_target
        self.add_state("embeddings", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")

    def update(self, embeddings: Tensor, labels: Tensor, indices: Tensor) -> None:
        self.embeddings.append(embeddings.detach().float())
        self.labels.append(labels.detach().long())
        self.indices.append(indices.detach().long())

    def compute(self) -> dict[str, Tensor]:
        """Scores over the items seen; pairs naming an item that was not evaluated are left out (the trainer
        evaluates every item, a partial pass such as one test batch scores what it can, see verification_scores)."""
        embeddings, labels, indices = (_cat(s).cpu() for s in (self.embeddings, self.labels, self.indices))
        if len(indices) == 0:
            raise ValueError("no items were evaluated")
        order = indices.argsort(stable=True)  # one row per item, in index order (a repeated item keeps one)
        items = indices[order]
        first = torch.ones(len(items), dtype=torch.bool)
        first[1:] = items[1:] != items[:-1]
        order, items = order[first], items[first]
        ends = self.pairs[:, :2].cpu().contiguous()
        position = torch.searchsorted(items, ends).clamp(max=len(items) - 1)
        seen = (items[position] == ends).all(dim=1)
        pairs = torch.cat([position[seen], self.pairs[seen, 2:].cpu()], dim=1)
        scores = verification_scores(embeddings[order], labels[order], pairs, self.far_target)
        if self.record is not None and scores["threshold"] == scores["threshold"]:  # not NaN
            self.record["threshold"] = scores["threshold"]
        return {name: torch.tensor(value) for name, value in scores.items()}


def _cat(state: Tensor | Sequence[Tensor]) -> Tensor:
    if isinstance(state, Tensor):
        return state
    return torch.cat(list(state)) if len(state) else torch.empty(0)
