"""Time to the documented metric: each task's recipes trained from scratch on this machine, as a user runs them.

    python scripts/bench_tasks.py                       # every task's default recipe and the other documented ones
    python scripts/bench_tasks.py --task vision nlp     # only these tasks
    python scripts/bench_tasks.py --write docs/results.json   # also record the figures (read by model_table.py)
    python scripts/bench_tasks.py --recipe nlp/llama_tiny_world --keep runs/bench   # keep the runs to inspect

Each recipe runs as the command on its first line (``python -m zoo.train --task T ...``) in a fresh process, and
is held to the ``target:`` section it states (metric, threshold, budget). Printed per recipe:
wall time of the whole command, the monitored validation metric at the end, its documented target, and the seconds
from the start of training until the first evaluation that met the target (from ``metrics.jsonl`` timestamps).
Figures depend on the machine and on what else runs on it: the load average is printed and recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def targets() -> dict:
    """Each recipe's promise, from its ``target:`` section (the only copy)."""
    sys.path.insert(0, str(REPO))
    from zoo.recipes import recipe_targets

    return recipe_targets()


def recipes_to_run(tasks: list[str] | None) -> list[str]:
    """The default recipe of each problem, then the other recipes that state a target."""
    sys.path.insert(0, str(REPO))
    import zoo

    chosen = tasks or zoo.list_tasks()
    names = [p.default_recipe for t in chosen for p in zoo.get_task(t).problems.values()]
    names += [r for r in targets() if r.split("/")[0] in chosen and r not in names]
    return names


def _mnist_folder(shared: Path, work: Path) -> list[str]:
    """The real MNIST test set laid out as an image folder (10,000 PNGs in digit folders)."""
    folder = work / "mnist_folder"
    if not folder.is_dir():
        subprocess.run([sys.executable, str(REPO / "scripts" / "mnist_folder.py"), str(shared / "vision/mnist/raw"),
                        str(folder)], check=True, capture_output=True)
    return [f"data.args.root={folder}"]


# Recipes for the user's own files, measured on the real files in ../shared/data (--shared-data): the arguments that
# say where the files are and how they are laid out, nothing about training.
REAL_DATA = {
    "vision/small_cnn_image_folder": (_mnist_folder, "vision/mnist/raw"),
    "medical/resnet18_breastmnist": (lambda d, w: [f"data.args.root={d / 'medical/medmnist'}"], "medical/medmnist"),
    "speech/temporal_cnn_audio_folder": (lambda d, w: [
        f"data.args.root={d / 'speech/waves_yesno'}", "data.args.label_from=filename", "data.args.pattern='[01]'",
        "data.args.segment=true", "data.args.label_names={0: no, 1: yes}"], "speech/waves_yesno"),
}


def run(recipe: str, work: Path, shared: Path | None = None) -> dict:
    from zoo.recipes import recipe_command

    out = work / recipe.replace("/", "-")
    load = os.getloadavg()[0]
    extra: list[str] = []
    if recipe in REAL_DATA:
        prepare, needed = REAL_DATA[recipe]
        if shared is None or not (shared / needed).exists():
            return {"recipe": recipe, "error": [f"needs {needed} under --shared-data"], "wall_s": 0.0}
        extra = prepare(shared, work)
    command = [sys.executable, "-m", "zoo.train", *[a for a in recipe_command(recipe) if not a.endswith("=DIR")],
               *extra, "--output", str(out), "trainer.progress=false"]
    start = time.time()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    wall = time.time() - start
    if completed.returncode != 0:
        return {"recipe": recipe, "error": completed.stderr.strip().splitlines()[-1:], "wall_s": round(wall, 1)}
    summary = json.loads((out / "summary.json").read_text())
    monitor = summary["monitor"]
    result = {
        "recipe": recipe, "metric": monitor, "value": summary["final"].get(monitor),
        "best": summary["best"].get(monitor), "wall_s": round(wall, 1), "train_time_s": summary.get("train_time_s"),
        "load_before": round(load, 2),
    }
    goal = targets().get(recipe)
    if goal is not None:
        name, target, mode, budget = goal.metric, goal.threshold, goal.mode, goal.budget_s
        records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        met = [r for r in records if f"val/{name}" in r
               and (r[f"val/{name}"] >= target if mode == "max" else r[f"val/{name}"] <= target)]
        result.update(target=target, budget_s=budget,
                      time_to_target_s=round(met[0]["time"] - start, 1) if met else None)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", nargs="*", help="only these tasks")
    parser.add_argument("--recipe", nargs="*", help="only these recipes, e.g. vision/small_cnn_shapes")
    parser.add_argument("--write", type=Path, help="merge the figures into this JSON file (e.g. docs/results.json)")
    parser.add_argument("--keep", type=Path, help="write the runs into this directory and keep them (default: a "
                        "temporary one)")
    parser.add_argument("--shared-data", type=Path, default=REPO.parent / "shared" / "data",
                        help="real files for the own-data recipes (default ../shared/data)")
    args = parser.parse_args()
    names = args.recipe or recipes_to_run(args.task)
    import torch

    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    print(f"machine: {machine}")
    print(f"{'recipe':<36} {'metric':<12} {'value':>7} {'target':>7} {'to target':>10} {'wall':>8} {'budget':>7} load")
    results = []
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory() as work:
        for name in names:
            result = run(name, Path(work), args.shared_data if args.shared_data.is_dir() else None)
            results.append(result)
            if "error" in result:
                print(f"{name:<36} failed: {result['error']}")
                continue
            to_target = f"{result['time_to_target_s']:.0f}s" if result.get("time_to_target_s") is not None else "-"
            target = f"{result['target']:.3f}" if "target" in result else "-"
            budget = f"{result['budget_s']:.0f}s" if "budget_s" in result else "-"
            print(f"{name:<36} {result['metric']:<12} {result['value']:>7.4f} {target:>7} {to_target:>10} "
                  f"{result['wall_s']:>7.1f}s {budget:>7} {result['load_before']}")
    if args.write:
        existing = json.loads(args.write.read_text()) if args.write.is_file() else {"recipes": {}}
        for result in results:
            if "error" not in result:
                existing["recipes"][result["recipe"]] = {**result, "machine": machine}
        args.write.write_text(json.dumps(existing, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.write}")
    missed = [r["recipe"] for r in results if "target" in r and (r.get("time_to_target_s") is None
                                                                  or r["wall_s"] > r["budget_s"])]
    if missed:
        print(f"missed target or budget: {', '.join(missed)}")
    return 1 if any("error" in r for r in results) or missed else 0


if __name__ == "__main__":
    sys.exit(main())
