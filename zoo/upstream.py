"""The built-in catalog, generated from upstream libraries' own metadata: ``python scripts/build_catalog.py``.

Nothing here is copied by hand. For each registered zoo model, :data:`UPSTREAM` names the library weights that might
fit it; each candidate is built on the meta device both ways (the library's builder, and the zoo builder with the
entry's ``builder_args``) and kept only when every key and shape agrees. URLs, parameter counts, metrics, label
names and preprocessing come from the library's weights metadata.

torchvision publishes only the first 8 hex digits of each file's sha256 (in the file name) and checks downloads
against that prefix; the entries record that prefix as ``sha256_prefix`` and zoo checks it the same way. torchaudio
publishes no hash of its pipelines' files; their entries say ``verify: weights`` (a download must load as weights,
and its sha256 is pinned in the cache at the first download).

transformers' default pipeline models for text classifiers and encoders are repository snapshots (``format: hf``) at
the revisions transformers pins (``zoo/nlp/upstream.py``).

Adding a library is one generator function taking the registered model names of
its task, kept beside the task (``zoo/<task>/upstream.py``; vision's torchvision classifiers are in
``zoo/vision/upstream.py``) and named in :data:`UPSTREAM`; entries appear only for
models the registry holds. :func:`on_meta` and :func:`shapes` help a generator check that upstream weights fit a zoo
builder without allocating them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

FILE_HASH = re.compile(r"-([a-f0-9]{8,})\.")  # torchvision's HASH_REGEX: <name>-<sha256 prefix>.<ext>
LABEL_SETS = {"ImageNet-1K": "imagenet-1k"}
METRIC_NAMES = {"acc@1": "top1", "acc@5": "top5"}  # percentages in torchvision; fractions in zoo
TORCHVISION_LICENSE = "ImageNet terms, see https://github.com/pytorch/vision#pre-trained-model-license"

def torchvision_file(weights: Any) -> dict[str, Any]:
    """Where a torchvision weights file lives, and the sha256 prefix its name carries (torchvision checks the same)."""
    file_name = weights.url.rsplit("/", 1)[-1]
    found = FILE_HASH.search(file_name)
    return {"file_name": file_name, "sources": [weights.url], "format": "pth",
            "sha256_prefix": found.group(1) if found else ""}


def torchvision_entry(name: str, weights: Any, builder_name: str, labels: str, default: bool, license: str,
                      **fields: Any) -> dict[str, Any]:
    """A catalog entry for a torchvision weights file: where it lives, its size and provenance, and ``fields``
    (builder_args, head, metrics, preprocessing) as the generator found them; empty fields are left out."""
    import torchvision

    meta = weights.meta
    entry = {
        "name": name,
        **torchvision_file(weights),
        **{k: fields[k] for k in ("builder_args", "head") if k in fields},
        "params": meta["num_params"],
        **{k: v for k, v in fields.items() if k not in ("builder_args", "head")},
        "labels": labels,
        "license": meta.get("license", license),
        "recipe": meta.get("recipe", ""),
        "library": f"torchvision {torchvision.__version__.split('+')[0]} ({builder_name}, {weights})",
        "default": default,
        "description": " ".join(meta.get("_docs", "").split())
        + f" Upstream file about {meta['_file_size']:.1f} MiB; its full sha256 is not published, so zoo checks the"
        " prefix in its name, as torchvision does.",
    }
    return {k: v for k, v in entry.items() if v not in ("", [], {}, False)}


def classification_metrics(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """A torchvision classifier's published metrics (percentages become fractions), on its named label set."""
    return [
        {"dataset": LABEL_SETS.get(dataset, dataset).lower(), "split": "val", "metric": METRIC_NAMES.get(metric, metric),
         "value": round(value / 100, 6) if metric in METRIC_NAMES else value}
        for dataset, values in meta.get("_metrics", {}).items()
        for metric, value in values.items()
    ]


def label_set_name(builder_name: str, weights: Any) -> str:
    """The name the weights' label list is stored under: the dataset they were scored on, or builder and weights."""
    scored_on = next(iter(weights.meta.get("_metrics", {})), "")
    return LABEL_SETS.get(scored_on, f"{builder_name}-{weights.name}".lower())


def classification_preprocessing(weights: Any) -> dict[str, Any]:
    """The resize, crop and normalisation a torchvision classifier's weights were trained with."""
    transform = weights.transforms()
    return {
        "image_size": transform.crop_size[0], "resize_size": transform.resize_size[0], "channels": 3,
        "mean": list(transform.mean), "std": list(transform.std), "interpolation": transform.interpolation.value,
    }


def on_meta(build: Callable[[], Any]) -> Any:
    """Build without allocating or initialising real tensors: only names and shapes are compared."""
    import torch

    with torch.device("meta"):
        return build()


def shapes(model: Any) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# task -> (library, "module:function") pairs; each function gives (entries, label sets) for the task's model names.
UPSTREAM: dict[str, list[tuple[str, str]]] = {
    "vision": [("torchvision", "zoo.vision.upstream:torchvision_classifiers"),
               ("torchvision", "zoo.vision.video_upstream:torchvision_video"),
               ("torchvision", "zoo.vision.upstream:torchvision_detectors")],
    "driving": [("torchvision", "zoo.driving.upstream:torchvision_driving")],
    "medical": [("torchvision", "zoo.medical.upstream:torchvision_backbones")],
    "speech": [("torchaudio", "zoo.speech.upstream:torchaudio_asr")],
    "nlp": [("transformers", "zoo.nlp.upstream:transformers_encoders")],
}


def generate() -> dict[str, Any]:
    """The built-in catalog as it would be written now, for the libraries installed now."""
    from zoo import registry
    from zoo.hub.catalog import FORMAT

    entries: list[dict[str, Any]] = []
    label_sets: dict[str, list[str]] = {}
    for task in registry.list_tasks():
        for _, location in UPSTREAM.get(task, []):
            found, labels = registry.load_object(location)({m.name for m in registry.list_models(task)})
            entries += found
            label_sets.update(labels)
    return {
        "format": FORMAT,
        "generated_by": "scripts/build_catalog.py",
        "libraries": library_versions(),
        "label_sets": label_sets,
        "checkpoints": entries,
    }


def library_versions() -> dict[str, str]:
    """Versions whose metadata the catalog reflects; another version may publish other weights."""
    from importlib.metadata import version

    libraries = sorted({library for generators in UPSTREAM.values() for library, _ in generators})
    return {name: version(name).split("+")[0] for name in libraries}
