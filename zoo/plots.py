"""Pictures of a run: loss, validation metrics and learning rate over steps, read from its ``metrics.jsonl``.

``python -m zoo plot RUN`` writes ``RUN/plots/{loss,metrics,lr,throughput}.png``. Evaluation figures (a confusion
matrix, precision-recall curves, sample predictions) come from each task's ``Task.report`` and are written by
``zoo evaluate``. matplotlib is an optional extra: ``pip install -e ".[plot]"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, MissingExtraError


def pyplot() -> Any:
    """matplotlib's pyplot on a file-only backend (no display needed), or an error naming the extra."""
    try:
        import matplotlib
    except ImportError as error:
        raise MissingExtraError("Plots", "plot", "matplotlib") from error
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def figure(path: Path, title: str, **kwargs: Any) -> Iterator[Any]:
    """A matplotlib figure saved to ``path`` (atomically) and closed on exit."""
    from zoo.io import atomic_write_bytes

    plt = pyplot()
    fig = plt.figure(**kwargs)
    try:
        yield fig
        fig.suptitle(title)
        fig.tight_layout()
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    finally:
        plt.close(fig)


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory: it has no metrics.jsonl (runs are written by zoo train)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def series(records: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [s for s, _ in points], [v for _, v in points]


def plot_run(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the run's curves as PNG files and return their paths."""
    run_dir = Path(run_dir)
    records = read_records(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "plots"
    name = run_dir.name
    written = []
    keys = sorted({k for r in records for k, v in r.items() if isinstance(v, (int, float))})
    loss_keys = [k for k in keys if k.endswith("/loss")]
    if loss_keys:
        with figure(out / "loss.png", f"loss — {name}", figsize=(7, 4)) as fig:
            axis = fig.add_subplot()
            for key in loss_keys:
                steps, values = series(records, key)
                axis.plot(steps, values, marker="o" if len(steps) < 30 else None, label=key)
            values = [v for k in loss_keys for v in series(records, k)[1]]
            if min(values) > 0 and max(values) / min(values) > 20:  # a loss falling by decades reads best on a log axis
                axis.set_yscale("log")
            axis.set_xlabel("step")
            axis.set_ylabel("loss")
            axis.grid(alpha=0.3)
            axis.legend()
        written.append(out / "loss.png")
    metric_keys = [k for k in keys if k.startswith("val/") and k != "val/loss"]
    if metric_keys:
        columns = min(3, len(metric_keys))
        rows = -(-len(metric_keys) // columns)
        with figure(out / "metrics.png", f"validation metrics — {name}", figsize=(4 * columns, 3 * rows)) as fig:
            for i, key in enumerate(metric_keys):
                axis = fig.add_subplot(rows, columns, i + 1)
                steps, values = series(records, key)
                axis.plot(steps, values, marker="o")
                axis.set_title(key.removeprefix("val/"))
                axis.set_xlabel("step")
                axis.grid(alpha=0.3)
        written.append(out / "metrics.png")
    for key, file_name, label in (("lr", "lr.png", "learning rate"), ("samples_per_s", "throughput.png", "samples/s")):
        steps, values = series(records, key)
        if steps:
            with figure(out / file_name, f"{label} — {name}", figsize=(7, 3.5)) as fig:
                axis = fig.add_subplot()
                axis.plot(steps, values)
                axis.set_xlabel("step")
                axis.set_ylabel(label)
                axis.grid(alpha=0.3)
            written.append(out / file_name)
    if not written:
        raise ConfigError(f"{run_dir / 'metrics.jsonl'} holds no logged values yet; plot again after a few steps")
    return written


def confusion_matrix(matrix: Any, labels: list[str], path: Path, title: str) -> Path:
    """A confusion matrix (rows: true class, columns: predicted), counts written in the cells when few."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    size = max(4.0, 0.45 * len(labels) + 2)
    with figure(path, title, figsize=(size + 1, size)) as fig:
        axis = fig.add_subplot()
        shown = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
        image = axis.imshow(shown, cmap="Blues", vmin=0, vmax=1)
        fig.colorbar(image, ax=axis, fraction=0.046, label="fraction of the true class")
        ticks = range(len(labels))
        axis.set_xticks(ticks, labels, rotation=60, ha="right", fontsize=8)
        axis.set_yticks(ticks, labels, fontsize=8)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        if len(labels) <= 20:
            for i in ticks:
                for j in ticks:
                    if counts[i, j]:
                        axis.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=7,
                                  color="white" if shown[i, j] > 0.5 else "black")
    return path


def class_confusion(predicted: Any, target: Any, num_classes: int) -> Any:
    """Counts of (true, predicted) class pairs as a ``num_classes`` square array."""
    import numpy as np

    pairs = np.asarray(target, dtype=np.int64) * num_classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def image_grid(images: list[Any], captions: list[str], path: Path, title: str, columns: int = 8) -> Path:
    """Images (HxWxC uint8 arrays or tensors CxHxW) in a grid with a caption under each, e.g. sample predictions."""
    import numpy as np

    rows = -(-len(images) // columns)
    with figure(path, title, figsize=(1.6 * columns, 1.9 * rows)) as fig:
        for i, (image, caption) in enumerate(zip(images, captions)):
            array = np.asarray(image)
            if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
                array = array.transpose(1, 2, 0)
            axis = fig.add_subplot(rows, columns, i + 1)
            axis.imshow(array.squeeze(), cmap="gray" if array.squeeze().ndim == 2 else None)
            colour = {"✓": "green", "✗": "red"}.get(caption[:1], "black")
            axis.set_title(caption, fontsize=7, color=colour)
            axis.axis("off")
    return path
