"""The registry: which tasks exist, and the models and datasets each one offers.

Everything here is plain data. Each task's index (``zoo/<task>/index.py``) declares its entries with the dotted
location of the function that builds them, so listing never imports torch or a domain library; the builder is
imported on first use.

>>> import zoo
>>> zoo.list_tasks()
['vision', 'recommendation', 'nlp']
>>> zoo.get_model_entry("vision", "resnet18").builder
'zoo.vision.models:resnet18'
>>> zoo.list_models("vision", pretrained=True)[0].checkpoints
('vision/resnet18.imagenet1k_v1',)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from zoo.errors import UnknownNameError
from zoo.table import Table, human

# The explicit table of tasks: name -> module holding its index. Adding a task is one line here.
TASK_INDEXES: dict[str, str] = {
    "vision": "zoo.vision.index",
    "recommendation": "zoo.recommendation.index",
    "nlp": "zoo.nlp.index",
    "speech": "zoo.speech.index",
    "driving": "zoo.driving.index",
    "medical": "zoo.medical.index",
}


@dataclass(frozen=True)
class ModelEntry:
    """A model a task can build, described well enough to choose it without building it."""

    name: str
    builder: str  # "package.module:function"
    description: str
    params: int  # parameter count in the default recipe's configuration
    input: str  # what the model takes, e.g. "image 3x32x32 float"
    default_dataset: str
    recipe: str  # default recipe, relative to configs/ without ".yaml"
    license: str = ""
    source: str = ""
    checkpoints: tuple[str, ...] = ()
    # Building it fetches weights named in model.args (a hub id): tests generated from the registry skip it.
    downloads_weights: bool = False
    task: str = ""

    def build(self, **kwargs: Any) -> Any:
        return load_object(self.builder)(**kwargs)


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset a task can load; ``embedded`` ones are generated in code and need no files."""

    name: str
    loader: str  # "package.module:function"
    description: str
    splits: tuple[str, ...] = ("train", "val")
    num_classes: int | None = None
    embedded: bool = False
    license: str = ""
    source: str = ""
    task: str = ""

    def load(self, **kwargs: Any) -> Any:
        return load_object(self.loader)(**kwargs)


@dataclass(frozen=True)
class TaskEntry:
    """A task: its trainer interface, its default recipe and what it offers."""

    name: str
    description: str
    implementation: str  # "package.module:Class" implementing zoo.task.Task
    default_model: str
    default_dataset: str
    metrics: tuple[str, ...]
    models: dict[str, ModelEntry] = field(default_factory=dict)
    datasets: dict[str, DatasetEntry] = field(default_factory=dict)
    # "package.module:function" of (model, model name, info) -> zoo.hub.export.ExportSpec; "" when not exportable
    export: str = ""

    @property
    def default_recipe(self) -> str:
        return recipe_name(self.name, self.default_model, self.default_dataset)

    def model(self, name: str) -> ModelEntry:
        if name not in self.models:
            raise UnknownNameError("model", name, self.models, where=f"in task {self.name!r}")
        return self.models[name]

    def dataset(self, name: str) -> DatasetEntry:
        if name not in self.datasets:
            raise UnknownNameError("dataset", name, self.datasets, where=f"in task {self.name!r}")
        return self.datasets[name]


def make_task(
    name: str,
    *,
    description: str,
    implementation: str,
    default_model: str,
    default_dataset: str,
    metrics: tuple[str, ...],
    models: list[ModelEntry],
    datasets: list[DatasetEntry],
    export: str = "",
) -> TaskEntry:
    """Assemble a task index; a name registered twice is an error, not a silent overwrite."""
    return TaskEntry(
        name=name,
        description=description,
        implementation=implementation,
        default_model=default_model,
        default_dataset=default_dataset,
        metrics=metrics,
        models=_unique("model", name, models),
        datasets=_unique("dataset", name, datasets),
        export=export,
    )


def recipe_name(task: str, model: str, dataset: str) -> str:
    """Recipes live at ``configs/<task>/<model>_<dataset>.yaml``."""
    return f"{task}/{model}_{dataset}"


def _unique(kind: str, task: str, entries: list) -> dict:
    table: dict = {}
    for entry in entries:
        if entry.name in table:
            raise ValueError(f"{kind} {entry.name!r} is registered twice in task {task!r}")
        object.__setattr__(entry, "task", task)
        table[entry.name] = entry
    return table


def load_object(location: str) -> Callable[..., Any]:
    """Import ``"package.module:attribute"`` on demand."""
    module_name, _, attribute = location.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@cache
def get_task(name: str) -> TaskEntry:
    """The task entry for ``name``; unknown names list the closest valid ones."""
    if name not in TASK_INDEXES:
        raise UnknownNameError("task", name, TASK_INDEXES)
    task = importlib.import_module(TASK_INDEXES[name]).TASK
    if task.name != name:
        raise ValueError(f"{TASK_INDEXES[name]} declares task {task.name!r}, expected {name!r}")
    return task


def list_tasks() -> list[str]:
    return list(TASK_INDEXES)


def _tasks(task: str | None) -> list[TaskEntry]:
    return [get_task(task)] if task is not None else [get_task(t) for t in TASK_INDEXES]


def list_models(task: str | None = None, pattern: str | None = None, pretrained: bool = False) -> list[ModelEntry]:
    """Model entries, optionally of one task and matching a shell-style ``pattern`` such as ``"resnet*"``.

    ``pretrained=True`` keeps only models with checkpoints in the catalogs, with ``checkpoints`` holding their names
    (read from the catalog files, without importing torch).
    """
    from dataclasses import replace
    from fnmatch import fnmatch

    entries = [
        entry
        for t in _tasks(task)
        for entry in t.models.values()
        if pattern is None or fnmatch(entry.name, pattern)
    ]
    if not pretrained:
        return Table(entries, MODEL_COLUMNS)
    from zoo.hub.catalog import checkpoints_by_model

    names = checkpoints_by_model()
    return Table(
        [
            replace(entry, checkpoints=tuple(dict.fromkeys((*entry.checkpoints, *names[entry.task, entry.name]))))
            for entry in entries
            if names.get((entry.task, entry.name))
        ],
        [*MODEL_COLUMNS, ("checkpoints", lambda m: len(m.checkpoints))],
    )


def list_datasets(task: str | None = None) -> list[DatasetEntry]:
    return Table([entry for t in _tasks(task) for entry in t.datasets.values()], DATASET_COLUMNS)


MODEL_COLUMNS = [
    ("task", lambda m: m.task),
    ("model", lambda m: m.name),
    ("params", lambda m: human(m.params)),
    ("input", lambda m: m.input),
    ("dataset", lambda m: m.default_dataset),
    ("licence", lambda m: m.license),
]
DATASET_COLUMNS = [
    ("task", lambda d: d.task),
    ("dataset", lambda d: d.name),
    ("classes", lambda d: d.num_classes),
    ("embedded", lambda d: d.embedded),
    ("description", lambda d: d.description),
]


def get_model_entry(task: str, name: str) -> ModelEntry:
    return get_task(task).model(name)


def get_dataset_entry(task: str, name: str) -> DatasetEntry:
    return get_task(task).dataset(name)
