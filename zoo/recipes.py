"""Recipes: the YAML files under ``configs/<task>/<model>_<dataset>.yaml`` and how a run's config is resolved.

Resolution is one explicit sequence: the recipe file (given, or the one for the task/model/dataset), then
``--model``/``--dataset`` swaps, then ``key=value`` overrides, then the schema check, then the registry check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoo import registry
from zoo.config import RunConfig, apply_overrides, from_dict, load_yaml
from zoo.errors import ConfigError, UnknownNameError


def configs_dir() -> Path:
    """``$ZOO_CONFIGS``, else the recipes shipped with the package (``zoo/configs`` links to ``configs/``)."""
    env = os.environ.get("ZOO_CONFIGS")
    return Path(env) if env else Path(__file__).resolve().parent / "configs"


def recipe_path(name: str) -> Path:
    return configs_dir() / f"{name}.yaml"


def list_recipes(task: str | None = None) -> list[str]:
    root = configs_dir()
    pattern = f"{task}/*.yaml" if task else "*/*.yaml"
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.glob(pattern))


def resolve(
    task: str | None = None,
    model: str | None = None,
    dataset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> RunConfig:
    """The full config of a run, checked against the schema and the registry."""
    if config_file is not None:
        data = load_yaml(config_file)
        if task is not None and data.get("task", task) != task:
            raise ConfigError(f"--task {task} does not match task {data['task']!r} in {config_file}")
        data.setdefault("task", task)
    else:
        if task is None:
            raise ConfigError("name a task with --task (one of: " + ", ".join(registry.list_tasks()) + ")")
        data = load_yaml(_recipe_for(task, model, dataset))
    data = _swap(data, model, dataset)
    data = apply_overrides(data, list(overrides))
    config = from_dict(data)
    check_names(config)
    return config


def _recipe_for(task: str, model: str | None, dataset: str | None) -> Path:
    """The most specific recipe that exists: model+dataset, then the model's own, then the task's default."""
    entry = registry.get_task(task)
    candidates = []
    if model is not None:
        model_entry = entry.model(model)
        candidates.append(registry.recipe_name(task, model, dataset or model_entry.default_dataset))
        candidates.append(model_entry.recipe)
    if dataset is not None:
        entry.dataset(dataset)
        candidates.append(registry.recipe_name(task, entry.default_model, dataset))
    candidates.append(entry.default_recipe)
    for name in candidates:
        path = recipe_path(name)
        if path.is_file():
            return path
    raise ConfigError(f"no recipe found for task {task!r}: looked for {', '.join(c + '.yaml' for c in candidates)} in {configs_dir()}")


def _swap(data: dict[str, Any], model: str | None, dataset: str | None) -> dict[str, Any]:
    """Replace the recipe's model or dataset, dropping arguments that belonged to the one replaced."""
    if model is not None and data.get("model", {}).get("name") != model:
        data["model"] = {"name": model, "args": {}}
    if dataset is not None and data.get("data", {}).get("dataset") != dataset:
        data.setdefault("data", {})
        data["data"]["dataset"] = dataset
        data["data"]["args"] = {}
    return data


def check_names(config: RunConfig) -> None:
    """Task, model and dataset must be registered; unknown ones list the closest names."""
    if not config.task:
        raise ConfigError("the config names no task; set task: one of " + ", ".join(registry.list_tasks()))
    task = registry.get_task(config.task)
    if not config.model.name:
        raise ConfigError(f"the config names no model; set model.name, one of {', '.join(task.models)}")
    if not config.data.dataset:
        raise ConfigError(f"the config names no dataset; set data.dataset, one of {', '.join(task.datasets)}")
    task.model(config.model.name)
    task.dataset(config.data.dataset)


__all__ = ["resolve", "list_recipes", "recipe_path", "configs_dir", "check_names", "UnknownNameError"]
