"""Re-evaluate every reachable catalog checkpoint and compare with the metrics its entry records.

    python scripts/verify_checkpoints.py                               # every catalog (built-in + ZOO_CATALOG)
    python scripts/verify_checkpoints.py --catalog site/catalog.json --docs docs/checkpoints.md --json out.json
    python scripts/verify_checkpoints.py --device cuda                 # on a GPU

A checkpoint is re-evaluated when its entry carries the run config that made it (zoo-published ones) and its
dataset loads here; the evaluation is zoo's own (``zoo.api.evaluate``), so it is the number training logged.
Upstream entries (torchvision's ImageNet weights) are downloaded and verified but not re-scored: zoo registers no
ImageNet loader. ``--docs`` rewrites the table between the ``verified-checkpoints`` markers with verified rows only.
Exits 1 when a recorded metric is not reproduced.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

START, END = "<!-- verified-checkpoints:start -->", "<!-- verified-checkpoints:end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="only these checkpoints")
    parser.add_argument("--catalog", action="append", default=[], help="another catalog (repeatable)")
    parser.add_argument("--task", help="only this task")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted absolute difference")
    parser.add_argument("--no-download", action="store_true", help="only checkpoints already in the cache")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--docs", help="rewrite the verified table in this markdown file")
    args = parser.parse_args()

    from zoo.hub import cache
    from zoo.hub.catalog import add_catalog, list_checkpoints

    for location in args.catalog:
        add_catalog(location)
    entries = [e for e in list_checkpoints(args.task) if not args.names or e.name in args.names]
    results = []
    for entry in entries:
        if args.no_download and not cache.is_cached(entry):
            result = {"name": entry.name, "status": "skipped", "detail": "not cached (--no-download)"}
        else:
            result = verify(entry, args.device, args.tolerance)
        results.append(result)
        print(f"{result['name']}: {result['status']} {result.get('detail', '')}".rstrip(), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.docs:
        update_docs(Path(args.docs), [r for r in results if r["status"] == "verified"])
    failed = [r for r in results if r["status"] == "MISMATCH"]
    print(f"{sum(r['status'] == 'verified' for r in results)} verified, {len(failed)} mismatched, "
          f"{len(results)} checked")
    return 1 if failed else 0


def verify(entry: Any, device: str, tolerance: float) -> dict[str, Any]:
    """Fetch, then evaluate on the recorded dataset's split; the result says why when it cannot."""
    from zoo import registry
    from zoo.errors import ZooError
    from zoo.hub.download import fetch

    result: dict[str, Any] = {"name": entry.name, "params": entry.params, "license": entry.license}
    try:
        path = fetch(entry, progress=False)
    except ZooError as error:
        return {**result, "status": "unreachable", "detail": str(error).splitlines()[0]}
    if not entry.config:
        datasets = sorted({m.dataset for m in entry.metrics})
        registered = {d.name for d in registry.list_datasets(entry.task)}
        why = "no run config recorded" if set(datasets) <= registered else f"no zoo loader for {', '.join(datasets)}"
        return {**result, "status": "downloaded", "detail": f"{entry.hash_check} checked; not re-scored ({why})"}
    try:
        measured = evaluate(entry, path, device)
    except ZooError as error:
        return {**result, "status": "not evaluated", "detail": str(error).splitlines()[0]}
    rows, worst = [], 0.0
    for metric in entry.metrics:
        got = measured.get(f"{metric.split}/{metric.metric}")
        if got is None:
            continue
        worst = max(worst, abs(got - metric.value))
        rows.append({"dataset": metric.dataset, "split": metric.split, "metric": metric.metric,
                     "recorded": metric.value, "measured": got})
    status = "verified" if rows and worst <= tolerance else "MISMATCH"
    detail = f"max difference {worst:.2g} over {len(rows)} metrics"
    return {**result, "status": status, "detail": detail, "metrics": rows}


def evaluate(entry: Any, weights: Path, device: str) -> dict[str, float]:
    """Lay the entry out as a run checkpoint (config, label names, weights) and evaluate it as zoo evaluates runs."""
    from zoo.api import evaluate as zoo_evaluate
    from zoo.io import atomic_write_json

    splits = sorted({m.split for m in entry.metrics}) or ["val"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "model.safetensors").symlink_to(weights.resolve())
        info = {**entry.preprocessing, "classes": list(entry.labels)}
        atomic_write_json(folder / "meta.json", {"config": entry.config, "info": info, "inference_weights": "model",
                                                  "task": entry.task, "model": entry.model})
        measured: dict[str, float] = {}
        for split in splits:
            measured.update(zoo_evaluate(folder, split=split, device=device))
    return measured


def update_docs(path: Path, verified: list[dict[str, Any]]) -> None:
    """Replace the table between the markers; other text in the file is left as it is."""
    rows = ["| checkpoint | dataset | split | metric | recorded | re-evaluated | params | licence |",
            "|---|---|---|---|---|---|---|---|"]
    for result in verified:
        for m in result["metrics"]:
            rows.append(f"| `{result['name']}` | {m['dataset']} | {m['split']} | {m['metric']} | {m['recorded']:.4f} "
                        f"| {m['measured']:.4f} | {result['params']:,} | {result['license']} |")
    if len(rows) == 2:
        rows.append("| (none verified yet) | | | | | | | |")
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} lacks the markers {START} and {END}")
    table = "\n".join(rows)
    path.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), f"{START}\n{table}\n{END}", text, flags=re.S))


if __name__ == "__main__":
    sys.exit(main())
