"""``zoo.build_model(task, name, pretrained=True | "tag")``: build the registered model and load catalog weights.

The entry's ``builder_args`` make the architecture fit the weights (``num_classes=1000, small_input=False`` for
torchvision's ImageNet ResNets); arguments the caller passes win. A classifier head of another size is
re-initialised with a :class:`~zoo.errors.HeadReinitializedWarning`, which is how fine-tuning starts. The input
convolutions an entry names in ``first_conv`` are adapted to the model's input channels (RGB filters summed for one
channel, as for greyscale scans). Any other difference is a :class:`~zoo.errors.WeightsMismatchError` naming the keys.

A repository snapshot (``format: hf``) is fetched first and then read by the builder itself, whose ``builder_args``
name the entry (``checkpoint="nlp/pretrained.<tag>"``): its library fits the weights to the model.
"""

from __future__ import annotations

import warnings
from typing import Any

from zoo.errors import HeadReinitializedWarning, WeightsMismatchError
from zoo.hub.catalog import SNAPSHOT, CheckpointEntry, resolve_pretrained


def build_pretrained(
    task: str, name: str, pretrained: bool | str, kwargs: dict[str, Any], progress: bool | None = None
) -> Any:
    """The registered model with the weights of the catalog entry ``pretrained`` picks."""
    from zoo import registry
    from zoo.hub.download import fetch
    from zoo.hub.safety import load_state_dict
    from zoo.task import call_with_args

    model_entry = registry.get_model_entry(task, name)
    entry = resolve_pretrained(task, name, pretrained)
    args = {**entry.builder_args, **kwargs}
    if entry.format == SNAPSHOT:
        fetch(entry, progress=progress)  # the builder reads the cached folder
    model = call_with_args(registry.load_object(model_entry.builder), args, {}, "arguments", model_entry.builder)
    if entry.format == SNAPSHOT:
        return model
    state = load_state_dict(fetch(entry, progress=progress), entry.format)
    apply_weights(model, state, entry)
    return model


def apply_weights(model: Any, state: dict[str, Any], entry: CheckpointEntry) -> list[str]:
    """Load ``state`` into ``model``; returns the head keys left at their fresh initialisation."""
    own = model.state_dict()
    state = rename_keys(state, entry.renames)
    state = adapt_input_channels(state, own, entry.first_conv)
    # Files saved before PyTorch 0.4.1 (torchvision's DenseNets) lack BatchNorm's step counters; PyTorch loads them.
    missing = sorted(k for k in own.keys() - state.keys() if not k.endswith("num_batches_tracked"))
    unexpected = sorted(state.keys() - own.keys())
    reshaped = sorted(k for k in own.keys() & state.keys() if tuple(own[k].shape) != tuple(state[k].shape))
    head = [k for k in reshaped if any(k.startswith(prefix) for prefix in entry.head)]
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
        size = tuple(state[head[0]].shape)[0]
        warnings.warn(
            f"{entry.name}: loaded all weights except the classifier head ({', '.join(head)}), which has "
            f"{size} outputs in the checkpoint and {tuple(own[head[0]].shape)[0]} in the model; it starts from "
            "scratch, so fine-tune before use",
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
