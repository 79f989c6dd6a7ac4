"""Every recipe under configs/ must load, name registered things, and fit its builders' signatures."""

import inspect
import shlex

import pytest

from zoo import recipes, registry
from zoo.config import from_dict, load_yaml
from zoo.task import load_task

ALL = recipes.list_recipes()


def test_there_are_recipes():
    assert "vision/small_cnn_shapes" in ALL


def _accepts(location: str, keys) -> list[str]:
    parameters = inspect.signature(registry.load_object(location)).parameters
    return [k for k in keys if k not in parameters]


@pytest.mark.parametrize("name", ALL)
def test_recipe_is_valid(name):
    path = recipes.recipe_path(name)
    config = from_dict(load_yaml(path))
    recipes.check_names(config)
    task = registry.get_task(config.task)
    assert not _accepts(task.model(config.model.name).builder, config.model.args)
    assert not _accepts(task.dataset(config.data.dataset).loader, config.data.args)
    load_task(config)  # checks task_args against the task's options


@pytest.mark.parametrize("name", ALL)
def test_recipe_opens_with_the_command_that_runs_it(name):
    first = recipes.recipe_path(name).read_text().splitlines()[0]
    assert first.startswith("# python -m zoo.train "), first
    argv = shlex.split(first.removeprefix("# python -m zoo.train "))
    options = dict(zip(argv[::2], argv[1::2]))
    task, problem = recipes.split_task(options["--task"], options.get("--problem"))
    assert recipes.recipe_for(task, problem, options.get("--model"), options.get("--dataset")) == name
