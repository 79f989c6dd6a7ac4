import pytest
import torch

from zoo import registry
from zoo.vision import models

VISION = [m for m in registry.list_models("vision")]


@pytest.mark.parametrize("builder", [models.small_cnn, models.resnet18, models.mobilenet_v3_small, models.vit])
def test_greyscale_input(builder):
    kwargs = {"image_size": 28} if builder is models.vit else {}
    model = builder(num_classes=7, in_channels=1, **kwargs).eval()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 7)


def test_small_input_stem_keeps_resolution():
    model = models.resnet18(num_classes=10, small_input=True)
    assert isinstance(model.maxpool, torch.nn.Identity) and model.conv1.stride == (1, 1)
