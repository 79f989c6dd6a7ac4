"""Detectors from torchvision's detection family, built without weights; catalog checkpoints load into them.

Every model takes a list of float images in [0, 1] of any size and normalises and resizes them itself
(``min_size``/``max_size``: the short side is scaled to ``min_size`` unless the long side would pass ``max_size``).
In training it takes targets and returns a dict of losses; in evaluation it returns a dict of ``boxes``, ``scores``
and ``labels`` per image in the input's pixel coordinates. ``num_classes`` counts the background (label 0).

The torchvision architectures keep torchvision's parameter names, so its COCO weights load as they are;
``frozen_bn=True`` turns the backbone's BatchNorm layers into FrozenBatchNorm2d as torchvision does when it loads
them (their files hold no ``num_batches_tracked``). ``fcos_mobilenet_v3`` is sized for small images on a CPU.

``fcos_mobilenet_v2`` takes ``pretrained``, the path of an ImageNet classifier file of MobileNetV2, and loads it into
its backbone only (the FPN and the heads start from scratch): ``model.pretrained=imagenet1k_v1`` names the catalog
entry, which zoo fetches (cache, ``ZOO_MIRROR``, then its sources) and hands over as that path (zoo.pretrained).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch import nn
from torchvision.models import detection as tvd
from torchvision.models import mobilenet_v2, mobilenet_v3_large
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.fcos import FCOSHead
from torchvision.ops import FrozenBatchNorm2d
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from zoo.errors import ConfigError


def fcos_mobilenet_v3(
    num_classes: int = 91,
    width_mult: float = 1.0,
    fpn_channels: int = 256,
    head_convs: int = 4,
    min_size: int = 800,
    max_size: int = 1333,
    score_thresh: float = 0.2,
    nms_thresh: float = 0.6,
    detections_per_img: int = 100,
    topk_candidates: int = 1000,
    center_sampling_radius: float = 1.5,
    min_stride: int = 8,
    bn_momentum: float = 0.01,
) -> nn.Module:
    """FCOS (Tian et al., 2019) on a MobileNetV3-Large FPN over strides 8, 16, 32 (and 64 by max-pooling).

    Anchor-free, so there are no anchor sizes to tune to the data; ``width_mult``, ``fpn_channels`` and
    ``head_convs`` shrink it (0.5, 64 and 2 train on a CPU in minutes). ``min_stride=4`` adds a stride-4 level for
    tiny objects at about twice the cost. ``bn_momentum`` is torchvision's 0.01, made for long runs; in a run of a
    few hundred steps the running statistics then lag behind the weights, so short recipes raise it to 0.1.
    """
    if min_stride not in (4, 8):
        raise ConfigError(f"min_stride must be 4 or 8, got {min_stride}")
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=bn_momentum)
    features = mobilenet_v3_large(width_mult=width_mult, norm_layer=norm).features
    # The last block of each stage (just before the next strided block), and the final 1x1 convolution (stride 32).
    starts = [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)]
    taps = [starts[1] - 1, starts[2] - 1, starts[3] - 1, len(features) - 1][(0 if min_stride == 4 else 1):]
    backbone = BackboneWithFPN(
        features, {str(i): str(level) for level, i in enumerate(taps)}, [features[i].out_channels for i in taps],
        fpn_channels, extra_blocks=LastLevelMaxPool(),
    )
    strides = [min_stride * 2**level for level in range(len(taps) + 1)]
    anchors = AnchorGenerator(tuple((s,) for s in strides), ((1.0,),) * len(strides))  # FCOS: one point per stride
    return tvd.FCOS(
        backbone, num_classes, min_size=min_size, max_size=max_size, anchor_generator=anchors,
        head=FCOSHead(fpn_channels, 1, num_classes, num_convs=head_convs), score_thresh=score_thresh,
        nms_thresh=nms_thresh, detections_per_img=detections_per_img, topk_candidates=topk_candidates,
        center_sampling_radius=center_sampling_radius,
    )


# MobileNetV2's feature blocks that end each stride (4, 8, 16, 32): the last block before the next strided one, and
# the final 1x1 convolution, as torchvision's MobileNet detectors tap them.
_MOBILENET_V2_TAPS = {4: 3, 8: 6, 16: 13, 32: 18}


def fcos_mobilenet_v2(
    num_classes: int = 91,
    width_mult: float = 1.0,
    fpn_channels: int = 128,
    head_convs: int = 2,
    min_size: int = 800,
    max_size: int = 1333,
    score_thresh: float = 0.2,
    nms_thresh: float = 0.6,
    detections_per_img: int = 100,
    topk_candidates: int = 1000,
    center_sampling_radius: float = 1.5,
    min_stride: int = 8,
    frozen_bn: bool = False,
    bn_momentum: float = 0.1,
    pretrained: str = "",
) -> nn.Module:
    """FCOS on a MobileNetV2 FPN over strides 8, 16, 32 (and 64 by max-pooling); ``min_stride=4`` adds stride 4.

    ``pretrained``: the path of torchvision's ImageNet MobileNetV2 weights (a ``.pth`` or ``.safetensors`` file, as
    zoo fetches the catalog entries ``<task>/fcos_mobilenet_v2.imagenet1k_v1``/``_v2``), loaded into the backbone; ``frozen_bn`` then keeps their BatchNorm statistics fixed (FrozenBatchNorm2d), as torchvision
    fine-tunes detectors with small batches.
    """
    if min_stride not in (4, 8):
        raise ConfigError(f"min_stride must be 4 or 8, got {min_stride}")
    norm = partial(nn.BatchNorm2d, momentum=bn_momentum)
    features = mobilenet_v2(width_mult=width_mult, norm_layer=norm).features
    if pretrained:
        load_backbone(features, pretrained, prefix="features.")
    taps = [_MOBILENET_V2_TAPS[s] for s in (4, 8, 16, 32) if s >= min_stride]
    backbone = BackboneWithFPN(
        features, {str(i): str(level) for level, i in enumerate(taps)}, [features[i].out_channels for i in taps],
        fpn_channels, extra_blocks=LastLevelMaxPool(),
    )
    if frozen_bn:
        _freeze_batchnorm(backbone.body)
    strides = [min_stride * 2**level for level in range(len(taps) + 1)]
    anchors = AnchorGenerator(tuple((s,) for s in strides), ((1.0,),) * len(strides))
    return tvd.FCOS(
        backbone, num_classes, min_size=min_size, max_size=max_size, anchor_generator=anchors,
        head=FCOSHead(fpn_channels, 1, num_classes, num_convs=head_convs), score_thresh=score_thresh,
        nms_thresh=nms_thresh, detections_per_img=detections_per_img, topk_candidates=topk_candidates,
        center_sampling_radius=center_sampling_radius,
    )


def load_backbone(module: nn.Module, path: str, prefix: str) -> None:
    """Load the ``prefix``-ed keys of the classifier file at ``path`` into ``module`` (read without unpickling code);
    every parameter and statistic of ``module`` must be in the file with its shape (BatchNorm step counters
    excepted)."""
    from pathlib import Path

    from zoo.errors import WeightsMismatchError
    from zoo.hub.safety import load_state_dict

    name = Path(path)
    if not name.is_file():
        raise ConfigError(f"backbone weights {path!r} are not a file: give a catalog name in model.pretrained "
                          "(python -m zoo checkpoints) or the path of a MobileNetV2 .pth/.safetensors file")
    loaded = load_state_dict(name, "safetensors" if name.suffix == ".safetensors" else "pth")
    state = {k[len(prefix):]: v for k, v in loaded.items() if k.startswith(prefix)}
    own = module.state_dict()
    missing = sorted(k for k in own.keys() - state.keys() if not k.endswith("num_batches_tracked"))
    reshaped = sorted(k for k in own.keys() & state.keys() if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or reshaped:
        detail = (f"missing: {', '.join(missing[:6])}" if missing else
                  f"shapes differ: {', '.join(f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in reshaped[:4])}")
        raise WeightsMismatchError(f"{path} does not fit the backbone built ({detail}); torchvision's files need "
                                   "width_mult 1.0")
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)


def fasterrcnn_mobilenet_v3_fpn(
    num_classes: int = 91,
    frozen_bn: bool = False,
    min_size: int = 800,
    max_size: int = 1333,
    anchor_scale: float = 1.0,
    rpn_pre_nms_top_n_train: int = 2000,
    rpn_post_nms_top_n_train: int = 2000,
    rpn_pre_nms_top_n_test: int = 1000,
    rpn_post_nms_top_n_test: int = 1000,
    rpn_score_thresh: float = 0.0,
    box_batch_size_per_image: int = 512,
    box_score_thresh: float = 0.05,
    box_detections_per_img: int = 100,
) -> nn.Module:
    """Faster R-CNN (Ren et al., 2015) on torchvision's MobileNetV3-Large FPN (strides 16 and 32).

    ``anchor_scale`` multiplies the anchor sizes (32 to 512 pixels at ``min_size``), e.g. 0.25 for small images;
    fewer proposals (``rpn_*_top_n``) make it faster. Fits torchvision's COCO weights, including the 320 variant's.
    """
    model = tvd.fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, min_size=min_size, max_size=max_size,
        rpn_pre_nms_top_n_train=rpn_pre_nms_top_n_train, rpn_post_nms_top_n_train=rpn_post_nms_top_n_train,
        rpn_pre_nms_top_n_test=rpn_pre_nms_top_n_test, rpn_post_nms_top_n_test=rpn_post_nms_top_n_test,
        rpn_score_thresh=rpn_score_thresh, box_batch_size_per_image=box_batch_size_per_image,
        box_score_thresh=box_score_thresh, box_detections_per_img=box_detections_per_img,
    )
    sizes = tuple(_scaled((32, 64, 128, 256, 512), anchor_scale))
    model.rpn.anchor_generator = AnchorGenerator((sizes,) * 3, ((0.5, 1.0, 2.0),) * 3)
    return _frozen(model) if frozen_bn else model


def fasterrcnn_resnet50_fpn(
    num_classes: int = 91,
    frozen_bn: bool = False,
    min_size: int = 800,
    max_size: int = 1333,
    anchor_scale: float = 1.0,
    rpn_pre_nms_top_n_train: int = 2000,
    rpn_post_nms_top_n_train: int = 2000,
    rpn_pre_nms_top_n_test: int = 1000,
    rpn_post_nms_top_n_test: int = 1000,
    box_batch_size_per_image: int = 512,
    box_score_thresh: float = 0.05,
    box_detections_per_img: int = 100,
) -> nn.Module:
    """Faster R-CNN on a ResNet-50 FPN (strides 4 to 64): the classic two-stage baseline, heavy on a CPU."""
    model = tvd.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, min_size=min_size, max_size=max_size,
        rpn_pre_nms_top_n_train=rpn_pre_nms_top_n_train, rpn_post_nms_top_n_train=rpn_post_nms_top_n_train,
        rpn_pre_nms_top_n_test=rpn_pre_nms_top_n_test, rpn_post_nms_top_n_test=rpn_post_nms_top_n_test,
        box_batch_size_per_image=box_batch_size_per_image, box_score_thresh=box_score_thresh,
        box_detections_per_img=box_detections_per_img,
    )
    sizes = _scaled((32, 64, 128, 256, 512), anchor_scale)
    model.rpn.anchor_generator = AnchorGenerator(tuple((s,) for s in sizes), ((0.5, 1.0, 2.0),) * 5)
    return _frozen(model) if frozen_bn else model


def retinanet_resnet50_fpn(
    num_classes: int = 91,
    frozen_bn: bool = False,
    min_size: int = 800,
    max_size: int = 1333,
    anchor_scale: float = 1.0,
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 300,
    topk_candidates: int = 1000,
) -> nn.Module:
    """RetinaNet (Lin et al., 2017): one stage, focal loss, ResNet-50 FPN over strides 8 to 128."""
    model = tvd.retinanet_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, min_size=min_size, max_size=max_size,
        score_thresh=score_thresh, nms_thresh=nms_thresh, detections_per_img=detections_per_img,
        topk_candidates=topk_candidates,
    )
    octaves = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
    sizes = tuple(tuple(_scaled([s * o for o in octaves], anchor_scale)) for s in (32, 64, 128, 256, 512))
    model.anchor_generator = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 5)
    return _frozen(model) if frozen_bn else model


def fcos_resnet50_fpn(
    num_classes: int = 91,
    frozen_bn: bool = False,
    min_size: int = 800,
    max_size: int = 1333,
    score_thresh: float = 0.2,
    nms_thresh: float = 0.6,
    detections_per_img: int = 100,
    topk_candidates: int = 1000,
) -> nn.Module:
    """FCOS on torchvision's ResNet-50 FPN (strides 8 to 128)."""
    model = tvd.fcos_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, min_size=min_size, max_size=max_size,
        score_thresh=score_thresh, nms_thresh=nms_thresh, detections_per_img=detections_per_img,
        topk_candidates=topk_candidates,
    )
    return _frozen(model) if frozen_bn else model


def ssdlite320_mobilenet_v3(
    num_classes: int = 91,
    score_thresh: float = 0.001,
    nms_thresh: float = 0.55,
    detections_per_img: int = 300,
    topk_candidates: int = 300,
) -> nn.Module:
    """SSDlite (Sandler et al., 2018) on MobileNetV3-Large: every image is resized to 320x320."""
    return tvd.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=num_classes, score_thresh=score_thresh,
        nms_thresh=nms_thresh, detections_per_img=detections_per_img, topk_candidates=topk_candidates,
    )


def _scaled(sizes: Sequence[float], scale: float) -> list[int]:
    if scale <= 0:
        raise ConfigError(f"anchor_scale must be positive, got {scale}")
    return [max(int(round(s * scale)), 1) for s in sizes]


def _frozen(model: nn.Module) -> nn.Module:
    """The backbone's BatchNorm layers as FrozenBatchNorm2d, statistics kept: how torchvision fine-tunes detectors."""
    _freeze_batchnorm(model.backbone.body if hasattr(model.backbone, "body") else model.backbone)
    return model


def _freeze_batchnorm(body: nn.Module) -> None:
    for name, module in list(body.named_modules()):
        if isinstance(module, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(module.num_features, eps=module.eps)
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, key).copy_(getattr(module, key).detach())
            parent_name, _, child = name.rpartition(".")
            setattr(body.get_submodule(parent_name) if parent_name else body, child, frozen)
