"""Every driving model: forward and backward, the catalog's torchvision entries, a pretrained start."""

import hashlib
import json
import warnings

import pytest
import torch
from safetensors.torch import save_file

from zoo import recipes, registry
from zoo.driving import segmenters
from zoo.problems.detection import detectors
from zoo.errors import ConfigError, HeadReinitializedWarning

SEGMENTATION_MODELS = registry.get_task("driving").models_for("segmentation")
from zoo.hub import catalog
from zoo.task import load_task

DRIVING = registry.list_models("driving")
CLASSES = {"road_scenes": (5, 12), "kitti": (8, None), "cityscapes": (None, 19), "penn_fudan": (1, None)}


def test_anchor_scale_resizes_anchors_but_not_the_heads():
    with torch.device("meta"):
        retina = detectors.retinanet_resnet50_fpn(num_classes=4, anchor_scale=0.25)
        faster = detectors.fasterrcnn_resnet50_fpn(num_classes=4, anchor_scale=0.5)
        mobile = detectors.fasterrcnn_mobilenet_v3_fpn(num_classes=4, anchor_scale=0.25)
    assert retina.anchor_generator.sizes[0] == (8, 10, 13) and retina.anchor_generator.sizes[-1] == (128, 161, 203)
    assert retina.anchor_generator.num_anchors_per_location() == [retina.head.classification_head.num_anchors] * 5
    assert [s[0] for s in faster.rpn.anchor_generator.sizes] == [16, 32, 64, 128, 256]
    assert mobile.rpn.anchor_generator.sizes == ((8, 16, 32, 64, 128),) * 3
    assert mobile.rpn.anchor_generator.num_anchors_per_location()[0] == mobile.rpn.head.cls_logits.out_channels
    with pytest.raises(ConfigError, match="anchor_scale must be positive"):
        detectors.retinanet_resnet50_fpn(anchor_scale=0)


def test_detectors_return_boxes_in_input_pixels_in_evaluation():
    model = detectors.fcos_mobilenet_v3(num_classes=3, width_mult=0.5, fpn_channels=64, head_convs=2, min_size=128,
                                        max_size=192, score_thresh=0.0, topk_candidates=50, detections_per_img=20)
    with torch.no_grad():
        found = model.eval()([torch.rand(3, 200, 300), torch.rand(3, 64, 96)])
    assert len(found) == 2 and set(found[0]) == {"boxes", "scores", "labels"} and len(found[0]["boxes"]) == 20
    assert found[0]["boxes"][:, 2].max() <= 300 and found[1]["boxes"][:, 3].max() <= 64


def test_frozen_bn_and_widths():
    with torch.device("meta"):
        frozen = detectors.fasterrcnn_mobilenet_v3_fpn(num_classes=3, frozen_bn=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in frozen.backbone.body.modules())
    assert not any(k.endswith("num_batches_tracked") for k in frozen.state_dict())
    small = segmenters.lraspp_mobilenet_v3(num_classes=5, width_mult=0.5, bn_momentum=0.1)
    assert small(torch.rand(1, 3, 64, 96))["out"].shape == (1, 5, 64, 96)
    with pytest.raises(ConfigError, match="min_stride must be 4 or 8"):
        detectors.fcos_mobilenet_v3(min_stride=2)


def test_catalog_holds_torchvision_coco_weights_for_the_driving_models():
    entries = {e.name: e for e in catalog.list_checkpoints("driving")}
    assert {"driving/fasterrcnn_mobilenet_v3_fpn.coco_v1", "driving/fasterrcnn_mobilenet_v3_fpn.320_coco_v1",
            "driving/fasterrcnn_resnet50_fpn.coco_v1", "driving/retinanet_resnet50_fpn.coco_v1",
            "driving/fcos_resnet50_fpn.coco_v1", "driving/ssdlite320_mobilenet_v3.coco_v1",
            "driving/lraspp_mobilenet_v3.coco_with_voc_labels_v1",
            "driving/deeplabv3_resnet50.coco_with_voc_labels_v1"} <= set(entries)
    backbones = [e for e in entries.values() if "pretrained" in e.builder_args]  # ImageNet files for a backbone
    assert {e.name for e in backbones} == {"driving/fcos_mobilenet_v2.imagenet1k_v1",
                                           "driving/fcos_mobilenet_v2.imagenet1k_v2"}
    assert all(e.builder_args == {"pretrained": e.name} and len(e.labels) == 1000 for e in backbones)
    for entry in entries.values():
        if entry in backbones:
            continue
        segmentation = registry.get_model_entry("driving", entry.model).problem == "segmentation"
        assert entry.sources[0].startswith("https://download.pytorch.org/models/") and entry.sha256_prefix
        assert len(entry.labels) == (21 if segmentation else 91) and entry.labels[0] == "__background__"
        assert {m.metric for m in entry.metrics} == ({"miou", "pixel_accuracy"} if segmentation else {"map"})
        assert all(0 < m.value < 1 for m in entry.metrics) and entry.head and entry.params > 1_000_000
        with torch.device("meta"):
            model = registry.get_model_entry("driving", entry.model).build(**entry.builder_args)
        keys = set(model.state_dict())
        assert all(any(k.startswith(prefix) for k in keys) for prefix in entry.head)
    small = entries["driving/fasterrcnn_mobilenet_v3_fpn.320_coco_v1"].builder_args
    assert (small["min_size"], small["max_size"], small["frozen_bn"]) == (320, 640, True)
    default = catalog.default_checkpoint("driving", "fasterrcnn_mobilenet_v3_fpn")
    assert default.name == "driving/fasterrcnn_mobilenet_v3_fpn.coco_v1"


SMALL_FCOS = {"width_mult": 0.5, "fpn_channels": 64, "head_convs": 2}


@pytest.fixture
def local_coco_catalog(tmp_path, monkeypatch):
    """A catalog entry in the shape of torchvision's: a 91-class detector file, served from a local folder."""
    torch.manual_seed(1)
    weights = detectors.fcos_mobilenet_v3(num_classes=91, **SMALL_FCOS).state_dict()
    path = tmp_path / "fcos.safetensors"
    save_file({k: v.contiguous() for k, v in weights.items()}, str(path))
    entry = {"name": "driving/fcos_mobilenet_v3.coco_test", "file_name": path.name, "sources": [str(path)],
             "format": "safetensors", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
             "builder_args": {"num_classes": 91, **SMALL_FCOS}, "head": ["head.classification_head.cls_logits."]}
    (tmp_path / "catalog.json").write_text(json.dumps({"format": catalog.FORMAT, "checkpoints": [entry]}))
    monkeypatch.setenv("ZOO_CATALOG", str(tmp_path / "catalog.json"))
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(catalog, "_extra", [])
    return weights


def test_pretrained_start_loads_all_but_the_resized_head(local_coco_catalog):
    overrides = ["model.pretrained=coco_test", "data.args.num_train=8", "data.args.num_val=8",
                 "model.args={min_size: 128, max_size: 192}"]
    task = load_task(recipes.resolve("driving", overrides=overrides))
    data = task.build_data(["train", "val"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = task.build_model(data.info)
    assert data.info["pretrained"] == {"source": "driving/fcos_mobilenet_v3.coco_test", "kind": "catalog",
                                       "builder_args": SMALL_FCOS}
    assert any(issubclass(w.category, HeadReinitializedWarning) for w in caught)
    state = model.state_dict()
    assert state["head.classification_head.cls_logits.weight"].shape[0] == 6  # five classes and the background
    same = [k for k, v in local_coco_catalog.items() if not k.startswith("head.classification_head.cls_logits.")]
    assert all(torch.equal(state[k], local_coco_catalog[k]) for k in same)
    reloaded = load_task(recipes.resolve("driving", overrides=overrides), saved_info=data.info)
    rebuilt = reloaded.build_model(data.info).state_dict()  # a checkpoint being loaded: no download, same layout
    assert {k: v.shape for k, v in rebuilt.items()} == {k: v.shape for k, v in state.items()}
