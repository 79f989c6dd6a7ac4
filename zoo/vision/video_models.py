"""Video classifiers: clips ``(batch, 3, frames, height, width)`` -> logits ``(batch, classes)``.

``small_r2plus1d`` is the CPU model: (2+1)D blocks (Tran et al., 2018) that factor each 3x3x3 convolution into a
spatial 1x3x3 and a temporal 3x1x1 one, so motion is learnt by the temporal convolutions. ``frame_cnn`` is its
single-frame baseline: a 2D CNN applied to every frame on its own, its logits averaged over the frames, which is
what "classify each frame and average" means; on the embedded motions it stays near chance, which shows that the
classes need motion. The rest are torchvision's video models, built as torchvision builds them (so its Kinetics-400
weights load, see zoo/vision/video_upstream.py), with the two that fix their input size at construction (MViT,
whose attention pooling is sized for 16x224x224, and S3D's final 2x7x7 average pool) built for the clip size of the
data instead.
"""

from __future__ import annotations

from unittest import mock

import torch
from torch import Tensor, nn
from torchvision.models import video as tvv


def _conv_bn(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> list[nn.Module]:
    padding = tuple(k // 2 for k in kernel)
    return [nn.Conv3d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]


class _Block(nn.Module):
    """A (2+1)D residual block: spatial 1x3x3 then temporal 3x1x1 convolutions, a projected shortcut when the
    shape changes."""

    def __init__(self, cin: int, cout: int, spatial_stride: int = 1, temporal_stride: int = 1):
        super().__init__()
        stride = (temporal_stride, spatial_stride, spatial_stride)
        self.body = nn.Sequential(
            *_conv_bn(cin, cout, (1, 3, 3), (1, spatial_stride, spatial_stride)),
            nn.Conv3d(cout, cout, (3, 1, 1), (temporal_stride, 1, 1), (1, 0, 0), bias=False),
            nn.BatchNorm3d(cout),
        )
        self.shortcut = (
            nn.Identity() if cin == cout and stride == (1, 1, 1)
            else nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class FrameDifferences(nn.Module):
    """Append each frame's difference from the previous one (zero for the first) as extra channels, as TSN's
    RGB-difference stream does: the network starts from motion instead of having to find it under appearance."""

    def forward(self, clips: Tensor) -> Tensor:
        diff = clips[:, :, 1:] - clips[:, :, :-1]
        return torch.cat([clips, torch.cat([torch.zeros_like(diff[:, :, :1]), diff], dim=2)], dim=1)


def small_r2plus1d(num_classes: int = 8, in_channels: int = 3, width: int = 16, dropout: float = 0.1) -> nn.Module:
    """A (2+1)D CNN for small clips: frame differences beside the frames, a strided (2+1)D stem, three residual
    stages of ``width``, 2x and 4x ``width`` channels, global average pooling; about 0.1M parameters at width 24."""
    w = width
    return nn.Sequential(
        FrameDifferences(),
        *_conv_bn(2 * in_channels, w, (1, 3, 3), (1, 2, 2)),
        *_conv_bn(w, w, (3, 1, 1), (1, 1, 1)),
        _Block(w, w),
        _Block(w, 2 * w, spatial_stride=2),
        _Block(2 * w, 4 * w, spatial_stride=2, temporal_stride=2),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * w, num_classes),
    )


class FrameAverage(nn.Module):
    """Classify every frame with a 2D network and average the frames' logits: no frame sees another."""

    def __init__(self, frame_model: nn.Module):
        super().__init__()
        self.frame_model = frame_model

    def forward(self, clips: Tensor) -> Tensor:
        batch, channels, frames, height, width = clips.shape
        images = clips.transpose(1, 2).reshape(batch * frames, channels, height, width)
        return self.frame_model(images).view(batch, frames, -1).mean(dim=1)


def frame_cnn(num_classes: int = 8, in_channels: int = 3, width: int = 16, dropout: float = 0.1) -> nn.Module:
    """The single-frame baseline: zoo's image ``small_cnn`` on each frame, logits averaged over the clip."""
    from zoo.vision.models import small_cnn

    return FrameAverage(small_cnn(num_classes, in_channels, width, dropout))


def r3d_18(num_classes: int = 400) -> nn.Module:
    """ResNet3D-18 (Tran et al., 2018): full 3x3x3 convolutions."""
    return tvv.r3d_18(num_classes=num_classes)


def mc3_18(num_classes: int = 400) -> nn.Module:
    """Mixed convolutions MC3-18 (Tran et al., 2018): 3D convolutions in the first stage, 2D ones after."""
    return tvv.mc3_18(num_classes=num_classes)


def r2plus1d_18(num_classes: int = 400) -> nn.Module:
    """R(2+1)D-18 (Tran et al., 2018): every 3D convolution factored into spatial and temporal ones."""
    return tvv.r2plus1d_18(num_classes=num_classes)


def s3d(num_classes: int = 400, frames: int = 16, image_size: int = 224, dropout: float = 0.2) -> nn.Module:
    """S3D (Xie et al., 2018). Its head averages 2x7x7 windows of the last feature map, which clips smaller than
    16x224x224 do not fill; for those the head pools the whole map instead (the weights are the same)."""
    model = tvv.s3d(num_classes=num_classes, dropout=dropout)
    if frames < 16 or image_size < 224:
        model.avgpool = nn.AdaptiveAvgPool3d(1)
    return model


def mvit_v2_s(num_classes: int = 400, frames: int = 16, image_size: int = 224, dropout: float = 0.5) -> nn.Module:
    """MViTv2-S (Li et al., 2022), its attention pooling sized for ``frames`` x ``image_size`` x ``image_size``
    clips (Kinetics-400 weights: 16x224x224; they load at that size only)."""
    from torchvision.models.video import mvit as tv_mvit

    build = tv_mvit._mvit

    def sized(**kwargs):  # torchvision's mvit_v2_s fixes 16x224x224; its inner builder takes any size
        return build(**{**kwargs, "spatial_size": (image_size, image_size), "temporal_size": frames})

    with mock.patch.object(tv_mvit, "_mvit", sized):
        return tv_mvit.mvit_v2_s(num_classes=num_classes, dropout=dropout)


def swin3d_t(num_classes: int = 400, dropout: float = 0.0) -> nn.Module:
    """Video Swin Transformer, tiny (Liu et al., 2022): shifted 8x7x7 windows; any clip size (windows are padded)."""
    return tvv.swin3d_t(num_classes=num_classes, dropout=dropout)
