"""Every recipe keeps the promise in its ``target:`` section: trained by the command on its first line, the
monitored validation metric reaches the threshold, and ``zoo evaluate`` of the best checkpoint reproduces it.

The targets live in the recipes alone; scripts/bench_tasks.py and the README's model table read the same data.
Recipes with a budget above ``SUITE_BUDGET_S`` are left to the benchmark unless ZOO_LONG_RECIPES=1.
"""

import json
import os

import pytest

from tests.conftest import SUITE_BUDGET_S, run_zoo
from zoo import recipes

TARGETS = recipes.recipe_targets()
LONG = os.environ.get("ZOO_LONG_RECIPES") == "1"


def _param(name: str, target) -> pytest.param:
    marks = [pytest.mark.slow]
    if target.budget_s > SUITE_BUDGET_S and not LONG:
        marks.append(pytest.mark.skip(reason=f"budget {target.budget_s:.0f} s: scripts/bench_tasks.py runs it"))
    return pytest.param(name, target, id=name, marks=marks)


def test_every_problem_default_recipe_states_a_target():
    import zoo

    for task in zoo.list_tasks():
        for problem in zoo.get_task(task).problems.values():
            target = TARGETS.get(problem.default_recipe)
            assert target is not None and target.metric and target.budget_s > 0, problem.default_recipe


@pytest.mark.parametrize(("name", "target"), [_param(n, t) for n, t in TARGETS.items()])
def test_recipe_reaches_its_target(name, target, recipe_run):
    run = recipe_run(name)
    summary = json.loads((run / "summary.json").read_text())
    key = f"val/{target.metric}"
    assert summary["monitor"] == key, f"{name} monitors {summary['monitor']}, its target names {key}"
    value = summary["best"][key]
    assert value >= target.threshold if target.mode == "max" else value <= target.threshold, (name, value)
    metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(run / "checkpoints" / "best"), "--json",
                                 "--no-report").stdout)
    assert metrics == pytest.approx({k: v for k, v in summary["best"].items() if k.startswith("val/")}, abs=1e-6)
