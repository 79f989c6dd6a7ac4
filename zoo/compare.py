"""Runs side by side: what differs in their configs, and what each reached.

``python -m zoo compare RUN...`` reads each run's ``config.yaml`` and ``summary.json`` (or, for a run still going
or interrupted, the last records of ``metrics.jsonl``) without importing torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError
from zoo.table import format_table


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """A run's flattened config, its metrics (best validation values) and how it ended."""
    from zoo.config import saved_run_config

    run = Path(run_dir)
    config_path = run / "config.yaml"
    if not config_path.is_file():
        raise ConfigError(f"{run} is not a run directory (no config.yaml); pass directories written by zoo train")
    config = _flatten(saved_run_config(run))  # with the changes its resumes recorded
    summary_path = run / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        best = summary.get("best", {})
        metrics = {k: v for k, v in best.items() if k.startswith("val/")}
        facts = {
            "status": summary.get("status", ""),
            "steps": summary.get("steps"),
            "train time": f"{summary['train_time_s']:.1f}s" if "train_time_s" in summary else None,
            "best step": best.get("step"),
        }
    else:
        metrics, facts = _from_log(run)
    return {"run": run, "config": config, "metrics": metrics, "facts": facts}


def compare(run_dirs: list[str | Path], all_keys: bool = False) -> str:
    """A table with one column per run: the config keys that differ (all with ``all_keys``), then the metrics."""
    if not run_dirs:
        raise ConfigError("compare needs at least one RUN directory")
    runs = [load_run(r) for r in run_dirs]
    keys = sorted({k for r in runs for k in r["config"]})
    differing = [k for k in keys if all_keys or len({json.dumps(r["config"].get(k)) for r in runs}) > 1]
    metric_names = sorted({k for r in runs for k in r["metrics"]})
    header = ["", *(_short_name(r["run"], runs) for r in runs)]
    rows: list[list[Any]] = []
    for name in ("task", "model.name", "data.dataset"):
        if name not in differing:
            rows.append([name, *(r["config"].get(name) for r in runs)])
    rows += [[k, *(r["config"].get(k, "-") for r in runs)] for k in differing]
    rows += [[name, *(r["facts"].get(name) for r in runs)] for name in ("status", "steps", "best step", "train time")]
    best_of = {name: _best(name, [r["metrics"].get(name) for r in runs]) for name in metric_names}
    for name in metric_names:
        cells = []
        for r in runs:
            value = r["metrics"].get(name)
            mark = " *" if value is not None and value == best_of[name] and len(runs) > 1 else ""
            cells.append(f"{value:.4f}{mark}" if isinstance(value, (int, float)) else "-")
        rows.append([name, *cells])
    note = "\n(* best of the runs for that metric; losses and error rates lower, the rest higher)" if len(runs) > 1 else ""
    return format_table(header, rows) + note


LOWER_IS_BETTER = ("loss", "rmse", "mae", "wer", "cer", "error")


def _best(name: str, values: list[Any]) -> Any:
    numbers = [v for v in values if isinstance(v, (int, float))]
    if not numbers:
        return None
    lower = any(part in name.lower() for part in LOWER_IS_BETTER)
    return min(numbers) if lower else max(numbers)


def _from_log(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics of the last evaluation logged by a run that has no summary (still going, or interrupted)."""
    log = run / "metrics.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
    evaluated = [r for r in records if any(k.startswith("val/") for k in r)]
    last = evaluated[-1] if evaluated else {}
    steps = max((r.get("step", 0) for r in records), default=None)
    return {k: v for k, v in last.items() if k.startswith("val/")}, {"status": "unfinished", "steps": steps}


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, (list, dict)) else value
    return flat


def _short_name(run: Path, runs: list[dict[str, Any]]) -> str:
    """The run directory's name, with its parent when two runs share a name."""
    names = [r["run"].name for r in runs]
    return run.name if names.count(run.name) == 1 else f"{run.parent.name}/{run.name}"
