"""Time to the documented metric: each task's recipes trained from scratch on this machine, as a user runs them.

    python scripts/bench_tasks.py                       # every task's default recipe and the other documented ones
    python scripts/bench_tasks.py --task vision nlp     # only these tasks
    python scripts/bench_tasks.py --write docs/results.json   # also record the figures (read by model_table.py)

Each recipe runs as ``python -m zoo.train --task T --model M --dataset D`` in a fresh process. Printed per recipe:
wall time of the whole command, the monitored validation metric at the end, its documented target, and the seconds
from the start of training until the first evaluation that met the target (from ``metrics.jsonl`` timestamps).
Figures depend on the machine and on what else runs on it: the load average is printed and recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# recipe -> (monitored metric, target, "max" or "min", wall-time budget in seconds), as each task's docs promise.
TARGETS: dict[str, tuple[str, float, str, float]] = {
    "vision/small_cnn_shapes": ("top1", 0.90, "max", 180),
    "nlp/bert_tiny_sentiment": ("accuracy", 0.90, "max", 180),
    "recommendation/mf_synthetic": ("ndcg@10", 0.15, "max", 180),
    "speech/temporal_cnn_keywords": ("accuracy", 0.90, "max", 180),
    "speech/crnn_ctc_utterances": ("cer", 0.15, "min", 300),
    "driving/fcos_mobilenet_v3_road_scenes": ("map_50", 0.50, "max", 300),
    "medical/resnet18_phantom": ("auroc", 0.95, "max", 180),
    "medical/unet_phantom": ("dice", 0.80, "max", 300),
    "driving/lraspp_mobilenet_v3_road_scenes": ("miou", 0.40, "max", 300),
}


def recipes_to_run(tasks: list[str] | None) -> list[str]:
    """The default recipe of each task, then the other recipes with a documented target."""
    sys.path.insert(0, str(REPO))
    import zoo

    chosen = tasks or zoo.list_tasks()
    names = [zoo.get_task(t).default_recipe for t in chosen]
    names += [r for r in TARGETS if r.split("/")[0] in chosen and r not in names]
    return names


def run(recipe: str, work: Path) -> dict:
    import zoo

    task, stem = recipe.split("/")
    entry = zoo.get_task(task)
    model, dataset = next(
        (m, d) for m in entry.models for d in entry.datasets if f"{m}_{d}" == stem
    )
    out = work / stem
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "zoo.train", "--task", task, "--model", model, "--dataset", dataset,
               "--output", str(out), "trainer.progress=false"]
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
    if recipe in TARGETS:
        name, target, mode, budget = TARGETS[recipe]
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
    args = parser.parse_args()
    names = args.recipe or recipes_to_run(args.task)
    import torch

    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    print(f"machine: {machine}")
    print(f"{'recipe':<36} {'metric':<12} {'value':>7} {'target':>7} {'to target':>10} {'wall':>8} {'budget':>7} load")
    results = []
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            result = run(name, Path(work))
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
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
