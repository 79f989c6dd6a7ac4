"""Medical models: grey and RGB stems, 2D and 3D U-Nets, MONAI's U-Net."""

from __future__ import annotations

import sys

import pytest
import torch

from zoo import registry
from zoo.errors import ConfigError, MissingExtraError
from zoo.medical import models

MEDICAL = registry.list_models("medical")


@pytest.mark.parametrize("builder", [models.resnet18, models.resnet50, models.densenet121])
def test_classifiers_take_grey_or_rgb_with_either_stem(builder):
    grey = builder(num_classes=5, in_channels=1, small_input=True).eval()
    assert grey(torch.randn(1, 1, 16, 16)).shape == (1, 5)
    with torch.device("meta"):  # shapes only: no weights to initialise
        rgb = builder(num_classes=3, in_channels=3).eval()
        assert rgb(torch.randn(1, 3, 32, 32)).shape == (1, 3)
    stem = next(m for m in rgb.modules() if isinstance(m, torch.nn.Conv2d))
    assert stem.in_channels == 3 and stem.kernel_size == (7, 7) and stem.stride == (2, 2)


def test_unet_2d_and_3d_keep_the_input_size():
    net = models.unet(in_channels=2, out_channels=4, channels=(8, 16, 32)).eval()
    assert net.size_divisor == 4 and net(torch.randn(1, 2, 32, 48)).shape == (1, 4, 32, 48)
    volume = models.unet(out_channels=3, spatial_dims=3, channels=(4, 8), norm="instance").eval()
    assert volume(torch.randn(1, 1, 8, 16, 16)).shape == (1, 3, 8, 16, 16)
    with pytest.raises(ConfigError, match="spatial_dims must be 2 or 3"):
        models.unet(spatial_dims=1)


def test_monai_unet_builds_or_names_the_extra(monkeypatch):
    if _installed("monai"):
        net = models.monai_unet(out_channels=3, channels=(8, 16, 32), strides=(2, 2)).eval()
        assert net.size_divisor == 4 and net(torch.randn(1, 1, 32, 32)).shape == (1, 3, 32, 32)
    monkeypatch.setitem(sys.modules, "monai.networks.nets", None)
    with pytest.raises(MissingExtraError, match=r"monai_unet.*pip install -e \"\.\[medical\]\""):
        models.monai_unet()


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
