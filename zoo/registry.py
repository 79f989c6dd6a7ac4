"""The registry: which domains (tasks) exist, the problems each one holds, and their models and datasets.

Everything here is plain data. Each domain's index (``zoo/<domain>/index.py``) declares its problems
(classification, detection, transcription, ...), each with the Task class that trains it, and its models and
datasets with the dotted location of the function that builds them, so listing never imports torch or a domain
library; the builder is imported on first use. A model names the one problem it solves; a dataset names the
problems it serves.

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
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
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
class ProblemEntry:
    """A kind of work inside a domain: the Task class that trains it, its metrics and its default recipe."""

    name: str
    description: str
    implementation: str  # "package.module:Class" implementing zoo.task.Task
    default_model: str
    default_dataset: str
    metrics: tuple[str, ...]
    # "package.module:function" of (model, model name, info) -> zoo.export.ExportSpec; "" when not exportable
    export: str = ""
    task: str = ""  # the domain, filled in by make_task

    @property
    def default_recipe(self) -> str:
        return recipe_name(self.task, self.default_model, self.default_dataset)


@dataclass(frozen=True)
class ModelEntry:
    """A model a task can build, described well enough to choose it without building it."""

    name: str
    builder: str  # "package.module:function"
    description: str
    input: str  # what the model takes, e.g. "image 3x32x32 float"
    default_dataset: str
    recipe: str  # default recipe, relative to configs/ without ".yaml"
    # Parameters in its recipe's configuration on its problem's default dataset: counted by building it
    # (scripts/count_params.py writes zoo/model_params.json; tests/test_models.py checks it), never typed in.
    params: int = 0
    license: str = ""
    source: str = ""
    checkpoints: tuple[str, ...] = ()
    # Its recipe starts from catalog weights (model.pretrained): tests generated from the registry skip building it.
    downloads_weights: bool = False
    problem: str = ""  # the problem it solves; may be left out in a domain with one problem
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
    problems: tuple[str, ...] = ()  # the problems it serves; may be left out in a domain with one problem
    task: str = ""

    def load(self, **kwargs: Any) -> Any:
        return load_object(self.loader)(**kwargs)


@dataclass(frozen=True)
class TaskEntry:
    """A domain: its problems (the first is its default), models and datasets."""

    name: str
    description: str
    problems: dict[str, ProblemEntry]
    models: dict[str, ModelEntry] = field(default_factory=dict)
    datasets: dict[str, DatasetEntry] = field(default_factory=dict)

    @property
    def default_problem(self) -> ProblemEntry:
        return next(iter(self.problems.values()))

    # The domain's defaults are those of its default problem.
    @property
    def default_model(self) -> str:
        return self.default_problem.default_model

    @property
    def default_dataset(self) -> str:
        return self.default_problem.default_dataset

    @property
    def default_recipe(self) -> str:
        return self.default_problem.default_recipe

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for p in self.problems.values() for m in p.metrics))

    def problem(self, name: str) -> ProblemEntry:
        if name not in self.problems:
            raise UnknownNameError("problem", name, self.problems, where=f"in task {self.name!r}")
        return self.problems[name]

    def model(self, name: str) -> ModelEntry:
        if name not in self.models:
            raise UnknownNameError("model", name, self.models, where=f"in task {self.name!r}")
        return self.models[name]

    def dataset(self, name: str) -> DatasetEntry:
        if name not in self.datasets:
            raise UnknownNameError("dataset", name, self.datasets, where=f"in task {self.name!r}")
        return self.datasets[name]

    def models_for(self, problem: str) -> list[str]:
        return [m.name for m in self.models.values() if m.problem == problem]

    def datasets_for(self, problem: str) -> list[str]:
        return [d.name for d in self.datasets.values() if problem in d.problems]


def make_task(
    name: str,
    *,
    description: str,
    problems: list[ProblemEntry],
    models: list[ModelEntry],
    datasets: list[DatasetEntry],
) -> TaskEntry:
    """Assemble a domain's index, checked: names are unique, every model names a declared problem, every dataset
    serves one, and each problem's defaults fit it. A domain with one problem may leave the problem out of entries."""
    table = _unique("problem", name, problems)
    only = next(iter(table)) if len(table) == 1 else None
    counted = counted_params()
    models = [replace(m, problem=m.problem or only or "", params=counted.get(f"{name}/{m.name}", 0)) for m in models]
    datasets = [d if d.problems else replace(d, problems=(only,) if only else ()) for d in datasets]
    entry = TaskEntry(name=name, description=description, problems=table,
                      models=_unique("model", name, models), datasets=_unique("dataset", name, datasets))
    for model in entry.models.values():
        if model.problem not in table:
            raise ValueError(f"model {model.name!r} of task {name!r} names problem {model.problem!r}; "
                             f"declared: {', '.join(table)}")
    for dataset in entry.datasets.values():
        if not dataset.problems or any(p not in table for p in dataset.problems):
            raise ValueError(f"dataset {dataset.name!r} of task {name!r} serves {dataset.problems!r}; "
                             f"declared: {', '.join(table)}")
    for problem in table.values():
        if entry.model(problem.default_model).problem != problem.name:
            raise ValueError(f"problem {problem.name!r} of task {name!r}: default model {problem.default_model!r} "
                             "solves another problem")
        if problem.name not in entry.dataset(problem.default_dataset).problems:
            raise ValueError(f"problem {problem.name!r} of task {name!r}: default dataset {problem.default_dataset!r} "
                             "does not serve it")
    return entry


PARAMS_FILE = Path(__file__).resolve().parent / "model_params.json"


@cache
def counted_params() -> dict[str, int]:
    """``{"task/model": parameter count}`` as scripts/count_params.py counted them."""
    return json.loads(PARAMS_FILE.read_text()) if PARAMS_FILE.is_file() else {}


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
    ("problem", lambda m: m.problem),
    ("model", lambda m: m.name),
    ("params", lambda m: human(m.params) if m.params else "as loaded"),
    ("input", lambda m: m.input),
    ("dataset", lambda m: m.default_dataset),
    ("licence", lambda m: m.license),
]
DATASET_COLUMNS = [
    ("task", lambda d: d.task),
    ("problems", lambda d: ", ".join(d.problems)),
    ("dataset", lambda d: d.name),
    ("classes", lambda d: d.num_classes),
    ("embedded", lambda d: d.embedded),
    ("description", lambda d: d.description),
]


def get_model_entry(task: str, name: str) -> ModelEntry:
    return get_task(task).model(name)


def get_dataset_entry(task: str, name: str) -> DatasetEntry:
    return get_task(task).dataset(name)


def get_problem_entry(task: str, name: str | None = None) -> ProblemEntry:
    """A problem of a domain; ``None`` is the domain's default problem."""
    entry = get_task(task)
    return entry.default_problem if name is None else entry.problem(name)


def list_problems(task: str | None = None) -> list[ProblemEntry]:
    return Table([p for t in _tasks(task) for p in t.problems.values()], PROBLEM_COLUMNS)


PROBLEM_COLUMNS = [
    ("task", lambda p: p.task),
    ("problem", lambda p: p.name),
    ("default recipe", lambda p: p.default_recipe),
    ("metrics", lambda p: ", ".join(p.metrics)),
    ("description", lambda p: p.description),
]
