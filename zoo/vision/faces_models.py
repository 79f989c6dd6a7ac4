"""Face embedding networks and the model that trains them against an identity loss.

A :class:`FaceModel` is a backbone mapping an aligned face crop to a vector, L2-normalised, plus the loss head
over the training identities (:mod:`zoo.vision.face_losses`). ``model(images)`` returns the embeddings;
``model(images, identities)`` returns the training loss, so the one forward call goes through DDP.

Backbones:

- :func:`mobilefacenet`: MobileFaceNet (Chen et al., 2018): inverted residual bottlenecks with PReLU and a global
  depthwise convolution (GDC) instead of average pooling, which keeps where on the face a feature was found.
  ``width`` scales every stage; at 0.5 on 32x32 crops it trains on a CPU in minutes.
- :func:`face_resnet`: torchvision's ResNet with the ArcFace "E" output (BN, dropout, linear, BN) instead of the
  classifier, and a 3x3 stride-1 stem for small crops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision import models as tvm
from torchvision.ops import Conv2dNormActivation

from zoo.errors import ConfigError
from zoo.export import BATCH, ExportSpec
from zoo.vision.face_losses import identity_head

# (expansion, output channels at width 1, blocks, stride of the first block), after a stride-2 stem.
MOBILEFACENET_STAGES: tuple[tuple[int, int, int, int], ...] = ((2, 64, 2, 2), (4, 128, 1, 2), (2, 128, 3, 1))


class FaceModel(nn.Module):
    """An embedding backbone and the identity loss it trains with."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """L2-normalised embeddings, or with ``labels`` (training identities) the loss of the batch."""
        features = self.backbone(images)
        if labels is not None:
            return self.head(features, labels)
        return F.normalize(features.float(), dim=1)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Module:
    return Conv2dNormActivation(cin, cout, kernel, stride, groups=groups, activation_layer=nn.PReLU if act else None,
                                inplace=None)


class _Bottleneck(nn.Module):
    """Expand 1x1, depthwise 3x3, project 1x1 (linear); residual when the shape is kept."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        self.block = nn.Sequential(
            _conv(cin, hidden, 1), _conv(hidden, hidden, 3, stride, groups=hidden), _conv(hidden, cout, 1, act=False)
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileFaceNet(nn.Module):
    def __init__(
        self, embedding_size: int, in_channels: int, image_size: int, width: float,
        stages: Sequence[Sequence[int]], last_channels: int,
    ):
        super().__init__()
        stem = max(8, round(64 * width))
        layers: list[nn.Module] = [_conv(in_channels, stem, 3, 2), _conv(stem, stem, 3, groups=stem)]
        cin, stride = stem, 2
        for expansion, channels, blocks, first_stride in stages:
            cout = max(8, round(channels * width))
            for b in range(blocks):
                layers.append(_Bottleneck(cin, cout, first_stride if b == 0 else 1, expansion))
                cin = cout
            stride *= first_stride
        if image_size % stride:
            raise ConfigError(f"MobileFaceNet downsamples by {stride}: the image size ({image_size}) must be a "
                              f"multiple of it (data.args.image_size)")
        last = max(16, round(last_channels * width))
        side = image_size // stride
        gdc = nn.Sequential(nn.Conv2d(last, last, side, groups=last, bias=False), nn.BatchNorm2d(last))
        layers += [_conv(cin, last, 1), gdc]
        self.features = nn.Sequential(*layers)
        self.embedding = nn.Sequential(nn.Flatten(), nn.Linear(last, embedding_size, bias=False),
                                       nn.BatchNorm1d(embedding_size))

    def forward(self, x: Tensor) -> Tensor:
        return self.embedding(self.features(x))


def mobilefacenet(
    num_identities: int = 10,
    embedding_size: int = 128,
    loss: str = "arcface",
    margin: float | None = None,
    scale: float = 32.0,
    in_channels: int = 3,
    image_size: int = 32,
    width: float = 0.5,
    last_channels: int = 512,
) -> FaceModel:
    """MobileFaceNet-style embedding network (``width`` 1 is the paper's channel counts) with its identity loss."""
    backbone = MobileFaceNet(embedding_size, in_channels, image_size, width, MOBILEFACENET_STAGES, last_channels)
    return FaceModel(backbone, identity_head(loss, num_identities, embedding_size, margin, scale))


_RESNETS = {"resnet18": tvm.resnet18, "resnet34": tvm.resnet34, "resnet50": tvm.resnet50}


def face_resnet(
    num_identities: int = 10,
    embedding_size: int = 128,
    loss: str = "arcface",
    margin: float | None = None,
    scale: float = 32.0,
    in_channels: int = 3,
    depth: str = "resnet18",
    small_input: bool = True,
    dropout: float = 0.0,
) -> FaceModel:
    """A torchvision ResNet (``depth``: resnet18, resnet34, resnet50) ending in the BN-dropout-linear-BN embedding."""
    if depth not in _RESNETS:
        raise ConfigError(f"model.args.depth={depth!r}: choose one of {', '.join(_RESNETS)}")
    backbone = _RESNETS[depth]()
    if small_input:
        backbone.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        backbone.maxpool = nn.Identity()
    elif in_channels != 3:
        backbone.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    features = backbone.fc.in_features
    backbone.fc = nn.Sequential(nn.BatchNorm1d(features), nn.Dropout(dropout),
                                nn.Linear(features, embedding_size, bias=False), nn.BatchNorm1d(embedding_size))
    return FaceModel(backbone, identity_head(loss, num_identities, embedding_size, margin, scale))


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    """``images (batch, 3, size, size) -> embeddings (batch, embedding_size)``, L2-normalised; the loss head over
    the training identities is not part of the graph."""
    size = int(info.get("image_size", 32))
    return ExportSpec(
        module=model,
        sample=lambda sizes: (torch.randn(sizes[BATCH], 3, size, size),),
        inputs={"images": {0: BATCH}},
        outputs={"embeddings": {0: BATCH}},
    )
