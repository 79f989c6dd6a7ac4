"""Recipes: the YAML files under ``configs/<task>/<model>_<dataset>.yaml`` and how a run's config is resolved.

Resolution is one explicit sequence: the recipe file (given, or the one :func:`recipe_for` picks for the
task/problem/model/dataset), then ``--model``/``--dataset`` swaps, then ``key=value`` overrides, then the schema
check, then the registry check (the model and dataset must serve one problem).
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


def recipe_command(name: str) -> list[str]:
    """The arguments of ``python -m zoo.train`` on a recipe's first line (the command that runs it)."""
    import shlex

    first = recipe_path(name).read_text(encoding="utf-8").splitlines()[0]
    prefix = "# python -m zoo.train "
    if not first.startswith(prefix):
        raise ConfigError(f"recipe {name}.yaml must open with the command that runs it ({prefix}...)")
    return shlex.split(first.removeprefix(prefix))


def recipe_targets(task: str | None = None) -> dict[str, Any]:
    """``{recipe name: TargetConfig}`` of every recipe that states a target (its ``target:`` section)."""
    from zoo.config import TargetConfig, _build

    found = {}
    for name in list_recipes(task):
        data = load_yaml(recipe_path(name)).get("target")
        if data:
            found[name] = _build(TargetConfig, data, "target.")
    return found


def split_task(task: str | None, problem: str | None) -> tuple[str | None, str | None]:
    """``--task vision/detection`` is ``--task vision --problem detection``; naming two problems is an error."""
    if task and "/" in task:
        task, _, named = task.partition("/")
        if problem and problem != named:
            raise ConfigError(f"--task {task}/{named} and --problem {problem} name two problems: give one")
        problem = named
    return task, problem or None


def resolve(
    task: str | None = None,
    model: str | None = None,
    dataset: str | None = None,
    config_file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    problem: str | None = None,
) -> RunConfig:
    """The full config of a run, checked against the schema and the registry."""
    task, problem = split_task(task, problem)
    if config_file is not None:
        data = load_yaml(config_file)
        if task is not None and data.get("task", task) != task:
            raise ConfigError(f"--task {task} does not match task {data['task']!r} in {config_file}")
        data.setdefault("task", task)
        if data["task"] is None:
            raise ConfigError(f"{config_file} names no task: add a line such as 'task: vision', or pass --task (one "
                              f"of: {', '.join(registry.list_tasks())})")
        if problem is not None:
            data["problem"] = problem
    else:
        if task is None:
            raise ConfigError("name a task with --task (one of: " + ", ".join(registry.list_tasks()) + ")")
        name = recipe_for(task, problem, model, dataset)
        data = load_yaml(recipe_path(name))
        data["recipe"] = name
    data = _swap(data, model, dataset)
    data = apply_overrides(data, list(overrides))
    config = from_dict(data)
    check_names(config)
    return config


def recipe_for(task: str, problem: str | None, model: str | None, dataset: str | None) -> str:
    """The recipe a run starts from, in one step: ``<model>_<dataset>`` when that file exists, else the model's own
    recipe with the dataset swapped in (the run says so, and fits its schedule to the new data).

    Without ``model`` the problem's default model is used (the problem of ``--problem``, else the one the dataset
    serves, else the task's default). A model and dataset that do not fit are an error listing what does.
    """
    entry = registry.get_task(task)
    if model is not None:
        model_entry = entry.model(model)
        if problem is not None and model_entry.problem != entry.problem(problem).name:
            raise ConfigError(f"model {model!r} does {model_entry.problem}, not {problem}; models for {problem}: "
                              f"{', '.join(entry.models_for(problem))}")
        problem = model_entry.problem
    elif dataset is not None:
        served = entry.dataset(dataset).problems
        if problem is None:
            problem = entry.default_problem.name if entry.default_problem.name in served else served[0]
    problem_entry = entry.problem(problem) if problem is not None else entry.default_problem
    if dataset is not None:
        _check_fit(entry, problem_entry.name, model or problem_entry.default_model, dataset)
    if model is None and dataset is None:
        name = problem_entry.default_recipe
    else:
        model_entry = entry.model(model or problem_entry.default_model)
        name = registry.recipe_name(task, model_entry.name, dataset or model_entry.default_dataset)
        if not recipe_path(name).is_file():
            name = model_entry.recipe
    if not recipe_path(name).is_file():
        raise ConfigError(f"recipe {name}.yaml is not in {configs_dir()}; recipes of task {task!r}: "
                          f"{', '.join(r.split('/', 1)[1] for r in list_recipes(task))}")
    return name


def _check_fit(entry: registry.TaskEntry, problem: str, model: str, dataset: str) -> None:
    served = entry.dataset(dataset).problems
    if problem in served:
        return
    models = [m for p in served for m in entry.models_for(p)]
    raise ConfigError(
        f"dataset {dataset!r} serves {' and '.join(served)}, but model {model!r} does {problem}: "
        f"choose a model for it ({', '.join(models)}) or a {problem} dataset "
        f"({', '.join(entry.datasets_for(problem))})"
    )


def _swap(data: dict[str, Any], model: str | None, dataset: str | None) -> dict[str, Any]:
    """Replace the recipe's model or dataset, dropping arguments that belonged to the one replaced."""
    if model is not None and data.get("model", {}).get("name") != model:
        data["model"] = {"name": model, "args": {}}
    if dataset is not None and data.get("data", {}).get("dataset") != dataset:
        data.setdefault("data", {})
        data["data"]["dataset"] = dataset
        data["data"]["args"] = {}
        data.pop("target", None)  # what the recipe promised holds for its own dataset only
    return data


def check_names(config: RunConfig) -> None:
    """Task, problem, model and dataset must be registered and fit together; unknown ones list the closest names.

    Fills in ``config.problem`` from the model when the config leaves it out.
    """
    if not config.task:
        raise ConfigError("the config names no task; set task: one of " + ", ".join(registry.list_tasks()))
    task = registry.get_task(config.task)
    if not config.model.name:
        raise ConfigError(f"the config names no model; set model.name, one of {', '.join(task.models)}")
    if not config.data.dataset:
        raise ConfigError(f"the config names no dataset; set data.dataset, one of {', '.join(task.datasets)}")
    model = task.model(config.model.name)
    task.dataset(config.data.dataset)
    if config.problem and model.problem != task.problem(config.problem).name:
        raise ConfigError(f"model {model.name!r} does {model.problem}, not {config.problem}; models for "
                          f"{config.problem}: {', '.join(task.models_for(config.problem))}")
    config.problem = model.problem
    _check_fit(task, model.problem, model.name, config.data.dataset)


__all__ = ["resolve", "recipe_for", "recipe_command", "recipe_targets", "split_task", "list_recipes", "recipe_path",
           "configs_dir", "check_names", "UnknownNameError"]
