import subprocess
import sys

import pytest

import zoo
from zoo import registry
from zoo.errors import UnknownNameError
from zoo.recipes import recipe_path


def test_lists_tasks_models_and_datasets():
    assert "vision" in zoo.list_tasks()
    names = [m.name for m in zoo.list_models("vision")]
    assert {"small_cnn", "resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "vit"} <= set(names)
    assert [m.name for m in zoo.list_models("vision", pattern="resnet*")] == ["resnet18", "resnet34", "resnet50"]
    datasets = {d.name for d in zoo.list_datasets("vision")}
    assert {"shapes", "cifar10", "cifar100", "mnist", "fashion_mnist", "image_folder"} <= datasets


def test_entries_carry_metadata():
    entry = zoo.get_model_entry("vision", "resnet18")
    assert entry.task == "vision" and entry.params > 1_000_000 and entry.input and entry.license and entry.source
    assert entry.default_dataset in zoo.get_task("vision").datasets
    assert zoo.get_dataset_entry("vision", "shapes").embedded


@pytest.mark.parametrize(
    ("call", "wrong", "suggested"),
    [
        (lambda: zoo.get_task("visoin"), "visoin", "vision"),
        (lambda: zoo.get_model_entry("vision", "resnet19"), "resnet19", "resnet18"),
        (lambda: zoo.get_dataset_entry("vision", "cifar-10"), "cifar-10", "cifar10"),
    ],
)
def test_unknown_names_suggest_the_closest(call, wrong, suggested):
    with pytest.raises(UnknownNameError) as error:
        call()
    message = str(error.value)
    assert repr(wrong) in message and f"Did you mean '{suggested}'" in message


def test_a_name_registered_twice_is_an_error():
    entry = registry.DatasetEntry(name="x", loader="m:f", description="")
    with pytest.raises(ValueError, match="registered twice"):
        registry.make_task(
            "t", description="", problems=[_problem()], models=[],
            datasets=[entry, registry.DatasetEntry(name="x", loader="m:g", description="")],
        )


def _problem(name: str = "p") -> registry.ProblemEntry:
    return registry.ProblemEntry(name=name, description="", implementation="m:C", default_model="a",
                                 default_dataset="x", metrics=())


def _model(name: str, problem: str = "") -> registry.ModelEntry:
    return registry.ModelEntry(name=name, builder="m:f", description="", params=1, input="", default_dataset="x",
                               recipe="t/a_x", problem=problem)


def test_a_domain_with_two_problems_checks_every_entry_names_one():
    problems = [_problem("p"), _problem("q")]
    dataset = registry.DatasetEntry(name="x", loader="m:f", description="", problems=("p", "q"))
    with pytest.raises(ValueError, match="names problem ''"):
        registry.make_task("t", description="", problems=problems, models=[_model("a")], datasets=[dataset])
    with pytest.raises(ValueError, match="serves"):
        registry.make_task("t", description="", problems=problems, models=[_model("a", "p")],
                           datasets=[registry.DatasetEntry(name="x", loader="m:f", description="")])
    entry = registry.make_task("t", description="", problems=[_problem("p")], models=[_model("a")],
                               datasets=[registry.DatasetEntry(name="x", loader="m:f", description="")])
    assert entry.model("a").problem == "p" and entry.dataset("x").problems == ("p",)


@pytest.mark.parametrize("task", registry.list_tasks())
def test_every_entry_points_at_code_and_a_recipe(task):
    entry = zoo.get_task(task)
    for problem in entry.problems.values():
        assert entry.model(problem.default_model).problem == problem.name
        assert problem.name in entry.dataset(problem.default_dataset).problems
        assert recipe_path(problem.default_recipe).is_file()
        assert callable(registry.load_object(problem.implementation))
        assert problem.export and callable(registry.load_object(problem.export)), "every problem says how it exports"
    for model in entry.models.values():
        assert callable(registry.load_object(model.builder)), model.builder
        assert recipe_path(model.recipe).is_file(), model.recipe
    for dataset in entry.datasets.values():
        assert callable(registry.load_object(dataset.loader)), dataset.loader


def test_listing_imports_no_torch():
    code = (
        "import sys, zoo, zoo.cli\n"
        "zoo.list_models(); zoo.list_datasets(); zoo.list_models(pretrained=True); zoo.list_checkpoints()\n"
        "zoo.cli.main(['list'])\n"
        "zoo.cli.main(['checkpoints'])\n"
        "heavy = [m for m in ('torch', 'torchvision', 'transformers', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "small_cnn" in result.stdout and "cifar10" in result.stdout
    assert "vision/resnet18.imagenet1k_v1" in result.stdout
