"""ImageNet catalog entries load into the medical classifiers: summed RGB filters in a grey stem, DenseNet's old
key names, a new head; the weights are served from a local file, as the hub tests do."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
import torch

import zoo
from zoo.errors import HeadReinitializedWarning
from zoo.hub import catalog


pytestmark = pytest.mark.usefixtures("zoo_home")


def _serve(name: str, state: dict[str, torch.Tensor], tmp_path, monkeypatch) -> catalog.CheckpointEntry:
    """The built-in entry ``name``, pointing at ``state`` saved locally with its real sha256."""
    entry = catalog.get_checkpoint(name)
    file = tmp_path / entry.file_name
    torch.save(state, file)
    local = dataclasses.replace(entry, sources=(str(file),), sha256=hashlib.sha256(file.read_bytes()).hexdigest(),
                                sha256_prefix="")
    catalog.write_catalog(tmp_path / "catalog.json", [local])
    monkeypatch.setenv("ZOO_CATALOG", str(tmp_path / "catalog.json"))
    return local


def test_entries_come_from_torchvision_metadata():
    entries = {e.name: e for e in catalog.list_checkpoints("medical")}
    assert {"medical/resnet18.imagenet1k_v1", "medical/resnet50.imagenet1k_v2",
            "medical/densenet121.imagenet1k_v1"} <= set(entries)
    resnet = entries["medical/resnet18.imagenet1k_v1"]
    assert resnet.first_conv == ("conv1.",) and resnet.head == ("fc.",) and resnet.params == 11_689_512
    assert resnet.builder_args == {"num_classes": 1000, "small_input": False} and resnet.default
    assert entries["medical/densenet121.imagenet1k_v1"].first_conv == ("features.conv0.",)


def test_grey_stem_gets_the_summed_rgb_filters_and_a_new_head(tmp_path, monkeypatch):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    state = resnet18().state_dict()
    _serve("medical/resnet18.imagenet1k_v1", state, tmp_path, monkeypatch)
    with pytest.warns(HeadReinitializedWarning, match="1000 outputs in the checkpoint and 2"):
        model = zoo.build_model("medical", "resnet18", pretrained=True, num_classes=2)
    assert model.conv1.weight.shape == (64, 1, 7, 7)
    assert torch.allclose(model.conv1.weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(model.layer3[0].conv1.weight, state["layer3.0.conv1.weight"])
    grey = torch.rand(1, 1, 64, 64)
    reference = resnet18()
    reference.load_state_dict(state)
    features = torch.nn.Sequential(*list(reference.children())[:-1]).eval()
    ours = torch.nn.Sequential(*list(model.children())[:-1]).eval()
    assert torch.allclose(ours(grey), features(grey.expand(1, 3, 64, 64)), atol=1e-4)  # grey in = grey repeated
    rgb = zoo.build_model("medical", "resnet18", pretrained=True, in_channels=3)
    assert torch.equal(rgb.conv1.weight, state["conv1.weight"]) and rgb.fc.out_features == 1000


def test_densenet_files_with_pre_2019_key_names_load(tmp_path, monkeypatch):
    from torchvision.models import densenet121

    torch.manual_seed(0)
    state = densenet121().state_dict()
    # As torchvision publishes it: layer names from before 2019, no BatchNorm step counters (PyTorch < 0.4.1).
    old = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v for k, v in state.items()
           if not k.endswith("num_batches_tracked")}
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    _serve("medical/densenet121.imagenet1k_v1", old, tmp_path, monkeypatch)
    model = zoo.build_model("medical", "densenet121", pretrained=True, in_channels=3)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items() if not k.endswith("num_batches_tracked"))


def test_more_channels_repeat_the_filters_scaled(tmp_path, monkeypatch):
    from zoo.pretrained import adapt_input_channels

    weight = torch.randn(8, 3, 3, 3)
    adapted = adapt_input_channels({"stem.weight": weight}, {"stem.weight": torch.empty(8, 4, 3, 3)}, ("stem.",))
    expected = torch.cat([weight, weight[:, :1]], dim=1) * 3 / 4
    assert torch.allclose(adapted["stem.weight"], expected)
