"""Diagnosis classifiers and segmentation networks for one-channel (or RGB) scans.

The classifiers are torchvision's ResNets and DenseNet-121 with the stem made for the input: ``in_channels`` sets its
channel count (1 for most scans), and ``small_input=True`` swaps the ImageNet stem (7x7 stride-2 convolution and
max-pool) for a 3x3 stride-1 convolution, as the MedMNIST v2 baselines do for 28x28 images. ImageNet weights load
into the one-channel stem by summing the RGB filters (the catalog's ``first_conv``; see zoo/pretrained.py).

The U-Net is written out here so the default recipes need nothing beyond torch; ``monai_unet`` is MONAI's residual
U-Net for those who want the field's reference implementation (``pip install -e ".[medical]"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torchvision import models as tvm

from zoo.errors import ConfigError, MissingExtraError
from zoo.problems.classification import resnet


def resnet18(
    num_classes: int = 2, in_channels: int = 1, small_input: bool = False, zero_init_residual: bool = False
) -> nn.Module:
    """ResNet-18 (He et al., 2016) for scans; ``small_input=True`` for images of 28-32 pixels."""
    return resnet(tvm.resnet18, num_classes, in_channels, small_input, zero_init_residual)


def resnet50(
    num_classes: int = 2, in_channels: int = 1, small_input: bool = False, zero_init_residual: bool = False
) -> nn.Module:
    """ResNet-50 (He et al., 2016) for scans; ``small_input=True`` for images of 28-32 pixels."""
    return resnet(tvm.resnet50, num_classes, in_channels, small_input, zero_init_residual)


def densenet121(
    num_classes: int = 2, in_channels: int = 1, small_input: bool = False, drop_rate: float = 0.0,
    memory_efficient: bool = False,
) -> nn.Module:
    """DenseNet-121 (Huang et al., 2017), the CheXNet backbone; ``memory_efficient`` trades compute for memory."""
    model = tvm.densenet121(num_classes=num_classes, drop_rate=drop_rate, memory_efficient=memory_efficient)
    if small_input:
        model.features.conv0 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.features.pool0 = nn.Identity()
    elif in_channels != 3:
        model.features.conv0 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) in 2D or 3D: per level two conv-norm-ReLU layers, max-pool down, transposed
    convolution up, skip connections by concatenation, a 1x1 convolution to ``out_channels`` logits.

    Inputs must have sides divisible by ``size_divisor`` (2 per level below the first).
    """

    def __init__(
        self, in_channels: int = 1, out_channels: int = 2, spatial_dims: int = 2,
        channels: Sequence[int] = (16, 32, 64, 128), norm: str = "batch", dropout: float = 0.0,
    ):
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ConfigError(f"model.args.spatial_dims must be 2 or 3, got {spatial_dims!r}")
        if len(channels) < 2:
            raise ConfigError(f"model.args.channels needs at least two levels, got {list(channels)}")
        if norm not in ("batch", "instance"):
            raise ConfigError(f"model.args.norm must be 'batch' or 'instance', got {norm!r}")
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        up = nn.ConvTranspose2d if spatial_dims == 2 else nn.ConvTranspose3d
        self.pool = (nn.MaxPool2d if spatial_dims == 2 else nn.MaxPool3d)(2)
        norm_layer = {
            ("batch", 2): nn.BatchNorm2d, ("batch", 3): nn.BatchNorm3d,
            ("instance", 2): nn.InstanceNorm2d, ("instance", 3): nn.InstanceNorm3d,
        }[norm, spatial_dims]

        def block(cin: int, cout: int) -> nn.Sequential:
            layers: list[nn.Module] = []
            for c in (cin, cout):
                layers += [conv(c, cout, 3, padding=1, bias=False), norm_layer(cout, affine=True),
                           nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            return nn.Sequential(*layers)

        widths = list(channels)
        self.encoders = nn.ModuleList([block(cin, cout) for cin, cout in zip([in_channels, *widths], widths)])
        self.upsamplers = nn.ModuleList([up(widths[i + 1], widths[i], 2, stride=2) for i in range(len(widths) - 1)])
        self.decoders = nn.ModuleList([block(2 * widths[i], widths[i]) for i in range(len(widths) - 1)])
        self.head = conv(widths[0], out_channels, 1)
        self.size_divisor = 2 ** (len(widths) - 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, encoder in enumerate(self.encoders):
            x = encoder(x if i == 0 else self.pool(x))
            skips.append(x)
        for i in reversed(range(len(self.decoders))):
            x = self.decoders[i](torch.cat([self.upsamplers[i](x), skips[i]], dim=1))
        return self.head(x)


def unet(
    in_channels: int = 1, out_channels: int = 2, spatial_dims: int = 2, channels: Sequence[int] = (16, 32, 64, 128),
    norm: str = "batch", dropout: float = 0.0,
) -> UNet:
    """The U-Net above; ``channels`` lists the width of each level, ``spatial_dims=3`` for volumes."""
    return UNet(in_channels, out_channels, spatial_dims, channels, norm, dropout)


def monai_unet(
    in_channels: int = 1, out_channels: int = 2, spatial_dims: int = 2,
    channels: Sequence[int] = (16, 32, 64, 128, 256), strides: Sequence[int] = (2, 2, 2, 2), num_res_units: int = 2,
    norm: str = "batch", dropout: float = 0.0,
) -> nn.Module:
    """MONAI's U-Net (Kerfoot et al., 2018): residual units, strided convolutions down, as in MONAI's tutorials."""
    try:
        from monai.networks.nets import UNet as MonaiUNet
    except ImportError as error:
        raise MissingExtraError("model 'monai_unet' and the MONAI cross-checks", "medical", "monai") from error
    if len(strides) != len(channels) - 1:
        raise ConfigError(f"model.args.strides needs one entry per level below the first ({len(channels) - 1}), "
                          f"got {list(strides)}")
    model = MonaiUNet(spatial_dims=spatial_dims, in_channels=in_channels, out_channels=out_channels,
                      channels=tuple(channels), strides=tuple(strides), num_res_units=num_res_units, norm=norm,
                      dropout=dropout)
    divisor = 1
    for stride in strides:
        divisor *= stride
    model.size_divisor = divisor
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
