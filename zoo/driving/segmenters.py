"""Semantic segmentation models from torchvision, built without weights; catalog checkpoints load into them.

Each takes a normalised float batch (N, 3, H, W) and returns ``{"out": logits (N, num_classes, H, W)}``, plus
``"aux"`` from an auxiliary head when ``aux_loss=True`` (DeepLabV3, FCN). torchvision's COCO-with-VOC-labels
weights (21 classes, auxiliary head included) fit these builders with ``num_classes=21, aux_loss=True``.
"""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models import mobilenet_v3_large
from torchvision.models import segmentation as tvs
from torchvision.models._utils import IntermediateLayerGetter


def lraspp_mobilenet_v3(
    num_classes: int = 21, width_mult: float = 1.0, inter_channels: int = 128, bn_momentum: float = 0.01
) -> nn.Module:
    """Lite R-ASPP (Howard et al., 2019) on a dilated MobileNetV3-Large: output stride 16, a stride-8 skip.

    ``width_mult`` below 1 shrinks the backbone for CPU training; at 1 the layout is torchvision's
    ``lraspp_mobilenet_v3_large``, parameter names included. ``bn_momentum`` is torchvision's 0.01, made for long
    ImageNet runs; in a run of a few hundred steps the running statistics then lag far behind the weights and
    evaluation-mode outputs are poor, so short recipes raise it to 0.1.
    """
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=bn_momentum)
    features = mobilenet_v3_large(width_mult=width_mult, dilated=True, norm_layer=norm).features
    stages = [0] + [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)] + [len(features) - 1]
    low, high = stages[-4], stages[-1]  # the stride-8 block and the last (stride 16 once dilated)
    backbone = IntermediateLayerGetter(features, return_layers={str(low): "low", str(high): "high"})
    return tvs.LRASPP(backbone, features[low].out_channels, features[high].out_channels, num_classes, inter_channels)


def deeplabv3_mobilenet_v3(num_classes: int = 21, aux_loss: bool = False) -> nn.Module:
    """DeepLabV3 (Chen et al., 2017) with ASPP on a dilated MobileNetV3-Large."""
    return tvs.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes,
                                            aux_loss=aux_loss)


def deeplabv3_resnet50(num_classes: int = 21, aux_loss: bool = False) -> nn.Module:
    """DeepLabV3 with ASPP on a dilated ResNet-50 (output stride 8)."""
    return tvs.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux_loss)


def fcn_resnet50(num_classes: int = 21, aux_loss: bool = False) -> nn.Module:
    """Fully convolutional network (Long et al., 2015) on a dilated ResNet-50."""
    return tvs.fcn_resnet50(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux_loss)
