"""Softmax losses over training identities that shape an embedding space: ArcFace, CosFace, and plain softmax.

ArcFace (Deng et al., 2019) and CosFace (Wang et al., 2018) are pytorch-metric-learning's ``ArcFaceLoss`` and
``CosFaceLoss``: the cosine between an L2-normalised embedding x and each identity's normalised weight w_j is the
logit, and the true identity's logit carries a margin before scaling by s::

    ArcFace   s * cos(theta_y + m)      (m in radians here; the library takes degrees)
    CosFace   s * (cos(theta_y) - m)
    others    s * cos(theta_j)

The identity weights live in the loss, so the loss is a module of the model (its weights train with the rest and
are saved in its checkpoints; prediction uses only the embedding). Losses are computed in float32 whatever the
autocast precision: the library casts its weights to the dtype of the embeddings it receives.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError

LOSSES = ("arcface", "cosface", "softmax")
DEFAULT_MARGINS = {"arcface": 0.5, "cosface": 0.35, "softmax": 0.0}


class MarginHead(nn.Module):
    """ArcFace or CosFace over ``num_identities`` identities (pytorch-metric-learning)."""

    def __init__(self, loss: str, num_identities: int, embedding_size: int, margin: float, scale: float):
        super().__init__()
        from pytorch_metric_learning import losses

        self.loss_name, self.margin, self.scale = loss, margin, scale
        if loss == "arcface":
            self.loss = losses.ArcFaceLoss(num_identities, embedding_size, margin=math.degrees(margin), scale=scale)
        else:
            self.loss = losses.CosFaceLoss(num_identities, embedding_size, margin=margin, scale=scale)

    @property
    def weight(self) -> Tensor:
        """The identity weights, (embedding_size, num_identities)."""
        return self.loss.W

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return self.loss(embeddings.float(), labels)

    def logits(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """The scaled logits whose cross-entropy is the loss, through the library's own steps."""
        loss = self.loss
        embeddings = embeddings.float()
        mask = loss.get_target_mask(embeddings, labels)
        cosine = loss.get_cosine(embeddings)
        target = cosine[mask == 1]
        modified = loss.modify_cosine_of_target_classes(target)
        return loss.scale_logits(cosine + mask * (modified - target).unsqueeze(1), embeddings)


class SoftmaxHead(nn.Module):
    """The baseline: a linear classifier over identities and cross-entropy, no normalisation, no margin."""

    def __init__(self, num_identities: int, embedding_size: int):
        super().__init__()
        self.loss_name = "softmax"
        self.classifier = nn.Linear(embedding_size, num_identities)

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(self.logits(embeddings, labels), labels)

    def logits(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.classifier(embeddings.float())


def identity_head(
    loss: str, num_identities: int, embedding_size: int, margin: float | None = None, scale: float = 32.0
) -> nn.Module:
    """The loss module of ``loss``; ``margin`` None takes the paper's (ArcFace 0.5 rad, CosFace 0.35)."""
    if loss not in LOSSES:
        raise ConfigError(f"model.args.loss={loss!r} is not a face loss; choose one of {', '.join(LOSSES)}")
    if num_identities < 2:
        raise ConfigError(f"face losses need at least two training identities, got {num_identities}")
    if loss == "softmax":
        if margin:
            raise ConfigError("model.args.margin has no meaning for loss 'softmax': leave it out or pick arcface")
        return SoftmaxHead(num_identities, embedding_size)
    margin = DEFAULT_MARGINS[loss] if margin is None else float(margin)
    if not 0 <= margin < (math.pi / 2 if loss == "arcface" else 1):
        raise ConfigError(f"model.args.margin={margin} is out of range for {loss} (ArcFace: radians in [0, pi/2), "
                          "CosFace: a cosine offset in [0, 1))")
    return MarginHead(loss, num_identities, embedding_size, margin, float(scale))

