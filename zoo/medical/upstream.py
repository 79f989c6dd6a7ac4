"""Catalog entries for the medical classifiers: torchvision's ImageNet weights, from torchvision's own metadata.

Each candidate is checked on the meta device: the medical builder with three input channels must match torchvision's
architecture key for key. The entries leave ``in_channels`` to the builder's default (one channel) and name the stem
in ``first_conv``, so ``zoo.build_model("medical", "resnet18", pretrained=True)`` is a greyscale ResNet-18 whose stem
holds the RGB filters summed (see zoo/pretrained.py); ``in_channels=3`` loads them unchanged.

    python scripts/build_catalog.py      # regenerates zoo/hub/builtin_catalog.json, these entries included
"""

from __future__ import annotations

from typing import Any

from zoo.upstream import (
    TORCHVISION_LICENSE,
    classification_metrics,
    classification_preprocessing,
    label_set_name,
    on_meta,
    shapes,
    torchvision_file,
)

# medical model -> the torchvision builder whose weights fit it.
TORCHVISION_BACKBONES: dict[str, str] = {
    "resnet18": "resnet18",
    "resnet50": "resnet50",
    "densenet121": "densenet121",
}
# Key rewrites torchvision applies when it loads these files itself: DenseNet checkpoints keep the pre-2019 layer
# names ("norm.1"), renamed by the pattern in torchvision.models.densenet._load_state_dict.
RENAMES: dict[str, list[list[str]]] = {
    "densenet121": [[r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$",
                     r"\1\2"]],
}


def torchvision_backbones(models: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Entries for torchvision ImageNet weights that fit the registered medical classifiers, and their label sets."""
    from torchvision import models as tvm

    entries, label_sets = [], {}
    for zoo_model, builder_name in TORCHVISION_BACKBONES.items():
        if zoo_model not in models:
            continue
        enum = tvm.get_model_weights(builder_name)
        for weights in enum:
            entry, labels = _entry(zoo_model, builder_name, weights, weights is enum.DEFAULT)
            if entry is not None:
                entries.append(entry)
                label_sets.update(labels)
    return entries, label_sets


def _entry(
    zoo_model: str, builder_name: str, weights: Any, default: bool
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    import torchvision
    from torch import nn
    from torchvision import models as tvm

    from zoo import registry
    from zoo.pretrained import find_head

    meta = weights.meta
    num_classes = len(meta["categories"])
    builder = registry.load_object(registry.get_model_entry("medical", zoo_model).builder)
    builder_args = {"num_classes": num_classes, "small_input": False}
    reference = on_meta(lambda: tvm.get_model(builder_name, weights=None, num_classes=num_classes))
    ours = on_meta(lambda: builder(in_channels=3, **builder_args))
    if shapes(ours) != shapes(reference):
        return None, {}
    stem = next(name for name, module in ours.named_modules() if isinstance(module, nn.Conv2d))
    label_set = label_set_name(builder_name, weights)
    entry = {
        "name": f"medical/{zoo_model}.{weights.name.lower()}",
        **torchvision_file(weights),
        "builder_args": builder_args,
        "head": list(find_head(ours, num_classes)),
        "first_conv": [f"{stem}."],
        "renames": RENAMES.get(zoo_model, []),
        "params": meta["num_params"],
        "metrics": classification_metrics(meta),
        "preprocessing": classification_preprocessing(weights),
        "labels": label_set,
        "license": meta.get("license", TORCHVISION_LICENSE),
        "recipe": meta.get("recipe", ""),
        "library": f"torchvision {torchvision.__version__.split('+')[0]} ({builder_name}, {weights})",
        "default": default,
        "description": " ".join(meta.get("_docs", "").split())
        + f" ImageNet weights for a one-channel stem by default (RGB filters summed; in_channels=3 keeps them)."
        f" Upstream file about {meta['_file_size']:.1f} MiB; zoo checks the sha256 prefix in its name, as"
        " torchvision does.",
    }
    return {k: v for k, v in entry.items() if v not in ("", [], {}, False)}, {label_set: list(meta["categories"])}
