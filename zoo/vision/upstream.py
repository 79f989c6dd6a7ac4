"""Catalog entries for torchvision's ImageNet classifiers that fit zoo's vision models (see zoo/upstream.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo.upstream import (
    TORCHVISION_LICENSE,
    classification_metrics,
    classification_preprocessing,
    label_set_name,
    on_meta,
    shapes,
    torchvision_entry,
)

# zoo vision model -> torchvision builders whose weights may fit it, the first one's DEFAULT being the zoo default.
TORCHVISION_CLASSIFIERS: dict[str, tuple[str, ...]] = {
    "resnet18": ("resnet18",),
    "resnet34": ("resnet34",),
    "resnet50": ("resnet50",),
    "mobilenet_v3_small": ("mobilenet_v3_small",),
    "vit": ("vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"),
}


def torchvision_classifiers(models: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Entries for torchvision classification weights that fit registered vision models, and their label sets."""
    from torchvision import models as tvm

    entries, label_sets = [], {}
    for zoo_model, builders in TORCHVISION_CLASSIFIERS.items():
        if zoo_model not in models:
            continue
        for builder_name in builders:
            enum = tvm.get_model_weights(builder_name)
            for weights in enum:
                default = weights is enum.DEFAULT and builder_name == builders[0]
                entry, labels = _torchvision_entry(zoo_model, builder_name, weights, default, len(builders) > 1)
                if entry is not None:
                    entries.append(entry)
                    label_sets.update(labels)
    return entries, label_sets


def _torchvision_entry(
    zoo_model: str, builder_name: str, weights: Any, default: bool, variant_in_tag: bool
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    from torchvision import models as tvm

    meta = weights.meta
    num_classes = len(meta["categories"])
    reference_kwargs: dict[str, Any] = {"num_classes": num_classes}
    if "vit" in builder_name:
        reference_kwargs["image_size"] = meta["min_size"][0]
    reference = on_meta(lambda: tvm.get_model(builder_name, weights=None, **reference_kwargs))
    builder_args = _builder_args(zoo_model, reference, num_classes)
    ours = on_meta(lambda: _zoo_builder(zoo_model)(**builder_args))
    if shapes(ours) != shapes(reference):
        return None, {}
    from zoo.pretrained import find_head

    label_set = label_set_name(builder_name, weights)
    variant = builder_name.removeprefix(f"{zoo_model}_") + "_" if variant_in_tag else ""
    kept = torchvision_entry(
        f"vision/{zoo_model}.{variant}{weights.name.lower()}", weights, builder_name, label_set, default,
        TORCHVISION_LICENSE, builder_args=builder_args, head=list(find_head(ours, num_classes)),
        metrics=classification_metrics(meta), preprocessing=classification_preprocessing(weights),
    )
    return kept, {label_set: list(meta["categories"])}


def _builder_args(zoo_model: str, reference: Any, num_classes: int) -> dict[str, Any]:
    """Arguments of the zoo builder that reproduce the library's architecture, read from a built reference."""
    if zoo_model == "vit":
        return {
            "num_classes": num_classes,
            "image_size": reference.image_size,
            "patch_size": reference.patch_size,
            "num_layers": len(reference.encoder.layers),
            "num_heads": reference.encoder.layers[0].num_heads,
            "hidden_dim": reference.hidden_dim,
            "mlp_dim": reference.mlp_dim,
        }
    return {"num_classes": num_classes, "small_input": False}


def _zoo_builder(model: str) -> Callable[..., Any]:
    from zoo import registry

    return registry.load_object(registry.get_model_entry("vision", model).builder)


def torchvision_detectors(models: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """vision's detectors: torchvision's COCO detectors and ImageNet MobileNetV2 backbones, from the shared detection
    generator (zoo.problems.detection.upstream)."""
    from zoo.problems.detection.upstream import torchvision_detectors as detectors

    return detectors("vision", models)
