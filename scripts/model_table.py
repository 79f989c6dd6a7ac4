"""The README's model table, generated from the registry, the checkpoint catalog and measured recipe results.

    python scripts/model_table.py            # rewrite the table between the markers in README.md
    python scripts/model_table.py --check    # exit 1 if README.md's table differs from what would be written
    python scripts/model_table.py --print    # print the table

Columns: task, problem, model, parameters (counted on its problem's default dataset, zoo/model_params.json), its
recipe's dataset, the target that recipe states (its ``target:`` section), the metric it reached from scratch on the
machine recorded in docs/results.json (``scripts/bench_tasks.py --write``), and the pretrained checkpoints in the
catalog with the default one's published metric.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
RESULTS = REPO / "docs" / "results.json"
START, END = "<!-- model-table:start -->", "<!-- model-table:end -->"


def table() -> str:
    sys.path.insert(0, str(REPO))
    import zoo
    from zoo.table import human

    from zoo.recipes import recipe_targets

    results = json.loads(RESULTS.read_text())["recipes"] if RESULTS.is_file() else {}
    targets = recipe_targets()
    checkpoints = zoo.list_checkpoints()
    lines = [
        "| task | problem | model | params | dataset | target (recipe, CPU) | from scratch (measured) "
        "| pretrained checkpoints |",
        "|---|---|---|---:|---|---|---|---|",
    ]
    for model in zoo.list_models():
        measured = results.get(model.recipe)
        scratch = "-"
        if measured:
            scratch = f"{measured['metric'].removeprefix('val/')} {measured['value']:.3f} in {measured['wall_s']:.0f} s"
        own = [c for c in checkpoints if c.task == model.task and c.model == model.name]
        pretrained = "-"
        if own:
            default = next((c for c in own if c.default), own[0])
            metric = next(iter(default.metrics), None)
            shown = f" ({metric.metric} {metric.value:.3f} on {metric.dataset})" if metric else ""
            pretrained = f"`{default.name}`{shown}" + (f" and {len(own) - 1} more" if len(own) > 1 else "")
        dataset = model.recipe.split("/")[1].removeprefix(f"{model.name}_")
        goal = targets.get(model.recipe)
        target = "-"
        if goal is not None:
            sign = ">=" if goal.mode == "max" else "<="
            target = f"{goal.metric} {sign} {goal.threshold:g} in {goal.budget_s:.0f} s"
        params = human(model.params) if model.params else "as loaded"
        lines.append(f"| {model.task} | {model.problem} | `{model.name}` | {params} | {dataset} | {target} | {scratch} "
                     f"| {pretrained} |")
    return "\n".join(lines)


def render(readme: str, body: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"{README} has no {START} ... {END} markers to write the table between")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--print", action="store_true", help="print the table only")
    args = parser.parse_args()
    body = table()
    if args.print:
        print(body)
        return 0
    current = README.read_text()
    updated = render(current, body)
    if args.check:
        same = current == updated
        print(f"{README}: model table {'up to date' if same else 'differs; run python scripts/model_table.py'}")
        return 0 if same else 1
    README.write_text(updated)
    print(f"wrote the model table in {README} ({body.count(chr(10)) - 1} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
