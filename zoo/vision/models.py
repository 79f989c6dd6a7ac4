"""Image classifiers. Each builder takes ``num_classes`` and ``in_channels`` so any dataset fits any model.

The torchvision builders are used as they are; only the stem changes for small images (32x32), where the ImageNet
stem would shrink the input to 1x1 before the last stage.
"""

from __future__ import annotations

from torch import nn
from torchvision import models as tvm

from zoo.problems.classification import resnet


def small_cnn(num_classes: int = 10, in_channels: int = 3, width: int = 32, dropout: float = 0.1) -> nn.Module:
    """A fast baseline: three conv-BN-ReLU stages and global pooling; trains in seconds on a CPU."""

    def stage(cin: int, cout: int) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]

    w = width
    return nn.Sequential(
        *stage(in_channels, w),
        nn.MaxPool2d(2),
        *stage(w, 2 * w),
        nn.MaxPool2d(2),
        *stage(2 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * w, num_classes),
    )


def resnet18(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> nn.Module:
    """ResNet-18 (He et al., 2016); ``small_input=True`` for 32x32 images."""
    return resnet(tvm.resnet18, num_classes, in_channels, small_input, zero_init_residual)


def resnet34(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> nn.Module:
    """ResNet-34 (He et al., 2016); ``small_input=True`` for 32x32 images."""
    return resnet(tvm.resnet34, num_classes, in_channels, small_input, zero_init_residual)


def resnet50(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, zero_init_residual: bool = False
) -> nn.Module:
    """ResNet-50 (He et al., 2016); ``small_input=True`` for 32x32 images."""
    return resnet(tvm.resnet50, num_classes, in_channels, small_input, zero_init_residual)


def mobilenet_v3_small(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, dropout: float = 0.2
) -> nn.Module:
    """MobileNetV3-Small (Howard et al., 2019); ``small_input=True`` makes the stem stride 1 for 32x32 images."""
    model = tvm.mobilenet_v3_small(num_classes=num_classes, dropout=dropout)
    stem = model.features[0][0]
    if small_input or in_channels != 3:
        model.features[0][0] = nn.Conv2d(
            in_channels, stem.out_channels, kernel_size=3, stride=1 if small_input else 2, padding=1, bias=False
        )
    return model


def vit(
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    patch_size: int = 4,
    num_layers: int = 6,
    num_heads: int = 4,
    hidden_dim: int = 192,
    mlp_dim: int = 384,
    dropout: float = 0.0,
) -> nn.Module:
    """A Vision Transformer (Dosovitskiy et al., 2021) sized for small images: 4x4 patches of a 32x32 image."""
    model = tvm.VisionTransformer(
        image_size=image_size,
        patch_size=patch_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        mlp_dim=mlp_dim,
        dropout=dropout,
        num_classes=num_classes,
    )
    if in_channels != 3:
        model.conv_proj = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
