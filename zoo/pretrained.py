"""Starting weights, asked for one way everywhere: ``model.pretrained`` in a recipe, ``pretrained=`` in
``zoo.build_model``.

A source is one of (tried in this order, :func:`locate`):

1. a path: a zoo checkpoint or run directory (its inference weights, and the builder arguments it was built with),
   a Hugging Face model directory (``config.json``), or a weights file (``.safetensors``; ``.gguf`` for builders that
   read it);
2. a catalog name (``vision/resnet18.imagenet1k_v1``, or the tag alone, ``imagenet1k_v1``; ``True`` is the model's
   default entry), fetched and verified into the cache (``zoo checkpoints``);
3. a Hugging Face hub id, for builders that read their weights themselves.

A builder that declares a ``pretrained`` parameter reads the weights itself (transformers' ``from_pretrained``); zoo
hands it the local path. Every other model is built first and then loaded: the source's builder arguments make the
architecture fit the weights (the data still decides ``num_classes`` and ``in_channels``, and ``model.args`` win),
a classifier head of another size or label set is re-initialised with a :class:`~zoo.errors.HeadReinitializedWarning`
(which is how fine-tuning starts), and input convolutions named in ``first_conv`` are adapted to the input channels
(RGB filters summed for one channel, as for greyscale scans). Any other difference is a
:class:`~zoo.errors.WeightsMismatchError` naming the keys. Nothing is unpickled: weights load as safetensors or
through the store's restricted loader.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, HeadReinitializedWarning, WeightsMismatchError
from zoo.hub.catalog import SNAPSHOT, CheckpointEntry, resolve_pretrained

# Arguments the data decides even when the weights were built otherwise: the head is re-sized, the stem adapted.
DATA_ARGS = ("num_classes", "in_channels")


@dataclass
class Source:
    """Where starting weights come from, resolved."""

    kind: str  # "catalog", "zoo", "hf" (a model directory), "file" or "hub" (an id the builder resolves)
    name: str  # what the user gave
    path: Path | None = None
    entry: CheckpointEntry | None = None
    builder_args: dict[str, Any] = field(default_factory=dict)  # how the weights' architecture was built
    labels: list[str] | None = None  # the label names of the weights' head, when known


def reads_own_weights(builder: Any) -> bool:
    """A builder with a ``pretrained`` parameter loads its weights itself (a Hugging Face directory, a GGUF file)."""
    return "pretrained" in inspect.signature(builder).parameters


def locate(task: str, model: str, source: str | bool, own_weights: bool = False) -> Source:
    """Resolve ``source`` (see the module docstring); unknown sources fail in one line naming what was tried."""
    from zoo.errors import UnknownNameError, ZooError

    if source is True:
        entry = resolve_pretrained(task, model, True)
        return Source("catalog", entry.name, entry=entry, builder_args=dict(entry.builder_args))
    if not isinstance(source, str) or not source:
        raise ConfigError(f"model.pretrained must be a catalog name, a checkpoint directory or a file, got {source!r}")
    path = Path(source).expanduser()
    if path.exists():
        return _local(path, source)
    looks_like_path = source.startswith((".", "/", "~")) or source.endswith((".safetensors", ".gguf", ".pt", ".pth"))
    if looks_like_path:
        raise ConfigError(f"model.pretrained={source}: no such file or directory")
    try:
        entry = resolve_pretrained(task, model, source)
    except (UnknownNameError, ZooError) as error:
        if isinstance(error, UnknownNameError) and not own_weights:
            raise  # an unknown tag of a model that has some: it names the closest
        if own_weights and "/" in source and source.count("/") == 1 and not source.startswith(f"{task}/"):
            return Source("hub", source)  # owner/name on the Hugging Face hub, read by the builder
        raise ConfigError(f"model.pretrained={source} is not a path, nor a catalog checkpoint of {task}/{model} "
                          f"({error}); see python -m zoo checkpoints {task}") from error
    return Source("catalog", entry.name, entry=entry, builder_args=dict(entry.builder_args))


def _local(path: Path, name: str) -> Source:
    from zoo import checkpoint as ckpt

    if path.is_file():
        if path.suffix not in (".safetensors", ".gguf"):
            raise ConfigError(f"model.pretrained={name}: zoo loads .safetensors weights (and .gguf for language "
                              "models), not pickled files; convert it with safetensors.torch.save_file")
        return Source("file", name, path=path)
    if (path / "meta.json").is_file() or (path / "checkpoints").is_dir():
        checkpoint = ckpt.resolve(path)
        meta = ckpt.read_meta(checkpoint)
        info = meta.get("info", {})
        args = dict(meta.get("config", {}).get("model", {}).get("args", {}))
        args.update((info.get("pretrained") or {}).get("builder_args", {}))
        return Source("zoo", name, path=checkpoint, builder_args=args, labels=info.get("classes"))
    if (path / "config.json").is_file():
        return Source("hf", name, path=path)
    if (path / "model.safetensors").is_file():
        return Source("file", name, path=path / "model.safetensors")
    raise ConfigError(f"model.pretrained={name} is a directory without zoo meta.json, a Hugging Face config.json or "
                      "model.safetensors: point it at a run or checkpoint directory, or a model directory")


def local_path(task: str, model: str, source: str) -> str:
    """Where a builder that reads its own weights finds ``source``: a catalog snapshot fetched into the cache, a path
    as given, or a hub id unchanged (read from the Hugging Face cache)."""
    from zoo.hub.download import fetch

    found = locate(task, model, source, own_weights=True)
    if found.kind == "catalog":
        if found.entry.format != SNAPSHOT and "pretrained" not in found.entry.builder_args:
            raise ConfigError(f"{found.name} is a weights file; model {model!r} reads a model directory")
        return str(fetch(found.entry))  # a snapshot folder, or a file the builder reads (a backbone's weights)
    if found.kind == "zoo":
        raise ConfigError(f"model.pretrained={found.name} is a zoo checkpoint; model {model!r} starts from a "
                          "Hugging Face directory or hub id (continue a zoo run with --resume instead)")
    return str(found.path) if found.path is not None else found.name


def build(
    task: str,
    name: str,
    source: str | bool,
    args: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    labels: list[str] | None = None,
    section: str = "model.args",
    progress: bool | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The registered model ``name`` started from ``source``, and the record to save with the run (``info['pretrained']``:
    the source and the builder arguments that make the architecture fit, so a checkpoint rebuilds without it).

    ``defaults`` are the arguments the data implies (``num_classes``...); ``None`` builds the weights' own model."""
    from zoo import registry
    from zoo.hub.download import fetch
    from zoo.builders import call_with_args

    model_entry = registry.get_model_entry(task, name)
    builder = registry.load_object(model_entry.builder)
    own = reads_own_weights(builder)
    found = locate(task, name, source, own_weights=own)
    # Without data (zoo.build_model), the model is the weights' own, head included.
    defaults = dict(found.builder_args if defaults is None else defaults)
    if own:
        where = local_path(task, name, source) if isinstance(source, str) else str(fetch(found.entry, progress=progress))
        fitted = {k: v for k, v in found.builder_args.items() if k not in ("pretrained", "checkpoint")}
        model = call_with_args(builder, args, {**defaults, **fitted, "pretrained": where}, section, model_entry.builder)
        return model, {"source": found.name, "kind": found.kind, "builder_args": {}}
    fitted = {k: v for k, v in found.builder_args.items() if k not in DATA_ARGS}
    model = call_with_args(builder, args, {**defaults, **fitted}, section, model_entry.builder)
    state, entry = _weights(found, model, defaults.get("num_classes"), progress)
    relabelled = labels is not None and found.labels is not None and list(labels) != list(found.labels)
    apply_weights(model, state, entry, reinit_head=relabelled)
    return model, {"source": found.name, "kind": found.kind, "builder_args": fitted}


def _weights(found: Source, model: Any, num_classes: int | None, progress: bool | None) -> tuple[dict, CheckpointEntry]:
    from zoo.hub.download import fetch
    from zoo.hub.safety import load_state_dict

    if found.kind == "catalog":
        return load_state_dict(fetch(found.entry, progress=progress), found.entry.format), found.entry
    if found.kind == "hf":
        weights = found.path / "model.safetensors"
        if not weights.is_file():
            raise ConfigError(f"model.pretrained={found.name}: no model.safetensors in that directory")
        found.path = weights
    if found.kind == "zoo":
        from zoo import checkpoint as ckpt

        meta = ckpt.read_meta(found.path)
        state = ckpt.read_weights(found.path, meta.get("inference_weights", "model"))
    else:
        if found.path.suffix == ".gguf":
            raise ConfigError(f"model.pretrained={found.name}: a GGUF file is read by language models only")
        from safetensors.torch import load_file

        state = load_file(str(found.path))
    head = find_head(model, num_classes) if num_classes else ()
    entry = CheckpointEntry(name=found.name, file_name=found.path.name, sources=(), format="safetensors", head=head)
    return state, entry


def build_pretrained(
    task: str, name: str, pretrained: bool | str, kwargs: dict[str, Any], progress: bool | None = None
) -> Any:
    """``zoo.build_model(task, name, pretrained=...)``: the model with those weights (see :func:`build`)."""
    return build(task, name, pretrained, kwargs, section="arguments", progress=progress)[0]


def apply_weights(model: Any, state: dict[str, Any], entry: CheckpointEntry, reinit_head: bool = False) -> list[str]:
    """Load ``state`` into ``model``; returns the head keys left at their fresh initialisation (all of the head's
    keys with ``reinit_head``, for weights whose label set differs though its size does not)."""
    own = model.state_dict()
    state = rename_keys(state, entry.renames)
    state = adapt_input_channels(state, own, entry.first_conv)
    # Files saved before PyTorch 0.4.1 (torchvision's DenseNets) lack BatchNorm's step counters; PyTorch loads them.
    missing = sorted(k for k in own.keys() - state.keys() if not k.endswith("num_batches_tracked"))
    unexpected = sorted(state.keys() - own.keys())
    reshaped = sorted(k for k in own.keys() & state.keys() if tuple(own[k].shape) != tuple(state[k].shape))
    in_head = [k for k in own.keys() & state.keys() if any(k.startswith(prefix) for prefix in entry.head)]
    head = sorted(in_head) if reinit_head else [k for k in reshaped if k in in_head]
    other = [k for k in reshaped if k not in head]
    if missing or unexpected or other:
        parts = []
        if other:
            shapes = ", ".join(f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in other[:6])
            parts.append(f"shapes differ (checkpoint vs model): {shapes}")
        if missing:
            parts.append(f"missing from the checkpoint: {', '.join(missing[:8])}")
        if unexpected:
            parts.append(f"not in the model: {', '.join(unexpected[:8])}")
        hint = f" It was made with builder arguments {entry.builder_args}." if entry.builder_args else ""
        raise WeightsMismatchError(f"{entry.name} does not fit the model built: " + "; ".join(parts) + "." + hint)
    if head:
        size, new = tuple(state[head[0]].shape)[0], tuple(own[head[0]].shape)[0]
        why = (f"has {size} outputs in the checkpoint and {new} in the model" if size != new
               else "was trained on other labels")
        warnings.warn(
            f"{entry.name}: loaded all weights except the classifier head ({', '.join(head)}), which {why}; it "
            "starts from scratch, so fine-tune before use",
            HeadReinitializedWarning,
            stacklevel=5,
        )
    model.load_state_dict({k: v for k, v in state.items() if k not in head}, strict=False)
    return head


def rename_keys(state: dict[str, Any], renames: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``state`` with each key rewritten by the first ``(regex, replacement)`` pair that matches it."""
    if not renames:
        return state
    import re

    patterns = [(re.compile(pattern), replacement) for pattern, replacement in renames]
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in patterns:
            if pattern.search(key):
                key = pattern.sub(replacement, key)
                break
        renamed[key] = value
    return renamed


def adapt_input_channels(state: dict[str, Any], own: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """``state`` with the input convolutions under ``prefixes`` fitted to the channel count of the model's (``own``).

    One channel gets the sum of the filters over their input channels, which answers a grey image as the original
    answers that image repeated in every channel; more channels get the filters repeated and scaled by
    ``old / new`` channels, keeping the activations' size (timm's ``adapt_input_conv``).
    """
    adapted = dict(state)
    for prefix in prefixes:
        key = f"{prefix}weight"
        if key not in state or key not in own:
            continue
        weight, target = state[key], own[key]
        if weight.ndim < 3 or weight.shape[1] == target.shape[1]:
            continue
        if weight.shape[0] != target.shape[0] or weight.shape[2:] != target.shape[2:]:
            continue  # another kernel or width: reported as a mismatch below
        channels, old = target.shape[1], weight.shape[1]
        if channels == 1:
            adapted[key] = weight.sum(dim=1, keepdim=True)
        else:
            repeats = -(-channels // old)
            adapted[key] = weight.repeat(1, repeats, *([1] * (weight.ndim - 2)))[:, :channels] * (old / channels)
    return adapted


def find_head(model: Any, num_classes: int) -> tuple[str, ...]:
    """Key prefixes of the classifier head: the last linear layer (or 1x1 convolution) with ``num_classes`` outputs."""
    from torch import nn

    found = ""
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == num_classes:
            found = name
        elif isinstance(module, nn.Conv2d) and module.out_channels == num_classes and module.kernel_size == (1, 1):
            found = name
    return (f"{found}.",) if found else ()
