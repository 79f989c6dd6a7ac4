"""torch.hub entry points: every registered zoo model, with the zoo's ``pretrained`` argument.

    import torch
    model = torch.hub.load("/path/to/zoo", "resnet18", source="local", pretrained=True)
    model = torch.hub.load("/path/to/zoo", "vit", source="local", pretrained="b_16_imagenet1k_v1")

Every model is also offered as ``<task>_<model>``; a name registered in several tasks (``resnet18`` in vision and
medical) is, bare, the one of the first task in ``zoo.list_tasks()``; ``pretrained`` and the builder's
keyword arguments mean what they mean in ``zoo.build_model``; ``python -m zoo checkpoints`` lists the tags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import zoo as _zoo

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from zoo.registry import ModelEntry

dependencies = ["torch", "torchvision", "safetensors", "filelock"]


def _entry_point(entry: ModelEntry) -> Callable[..., Any]:
    def build(pretrained: bool | str = False, **kwargs: Any) -> Any:
        return _zoo.build_model(entry.task, entry.name, pretrained=pretrained, **kwargs)

    tags = [c.split(".", 1)[1] for c in entry.checkpoints] or ["(none yet)"]
    build.__name__ = build.__qualname__ = entry.name
    build.__doc__ = f"{entry.description}\n\npretrained: True or one of {', '.join(tags)}; kwargs: {entry.builder}."
    return build


def _export_entry_points() -> None:
    with_weights = {(m.task, m.name): m for m in _zoo.list_models(pretrained=True)}
    models = [with_weights.get((m.task, m.name), m) for m in _zoo.list_models()]
    for model in models:
        globals()[f"{model.task}_{model.name}"] = _entry_point(model)
        globals().setdefault(model.name, _entry_point(model))


_export_entry_points()
