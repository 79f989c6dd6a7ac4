"""What a run reports: a progress bar, a line per evaluation, ``metrics.jsonl`` and TensorBoard events."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


class RunLogger:
    """Writes one JSON record per log step and evaluation; only the main process should own one."""

    def __init__(
        self,
        run_dir: Path,
        total_steps: int,
        progress: bool,
        tensorboard: bool,
        initial_step: int = 0,
        enabled: bool = True,
    ):
        self.run_dir, self.enabled = run_dir, enabled
        self.file, self.writer, self.bar = None, None, None
        if not enabled:  # another rank owns the logs
            return
        _drop_records_after(run_dir / "metrics.jsonl", initial_step)
        self.file = (run_dir / "metrics.jsonl").open("a")
        self.writer = _tensorboard_writer(run_dir) if tensorboard else None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total_steps, initial=initial_step, unit="step", dynamic_ncols=True, disable=None)

    def log(self, step: int, record: dict[str, Any]) -> None:
        if self.file is None:
            return
        full = {"step": step, "time": round(time.time(), 3), **record}
        self.file.write(json.dumps(full) + "\n")
        self.file.flush()
        if self.writer is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "epoch":
                    self.writer.add_scalar(key, value, step)

    def advance(self, steps: int, postfix: dict[str, Any] | None = None) -> None:
        if self.bar is not None:
            self.bar.update(steps)
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)

    def print(self, line: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        if self.file is not None:
            self.file.close()


def _drop_records_after(path: Path, step: int) -> None:
    """A resumed run repeats the steps after its checkpoint; their records from the interrupted run go.

    A process killed while writing leaves a torn last line: it is dropped with a note (the checkpoint does not depend
    on it). A damaged line elsewhere is an error naming it, as the log cannot be trusted past it.
    """
    if not path.is_file():
        return
    text = path.read_text(errors="replace")
    lines = text.splitlines()
    kept = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            if number < len(lines):
                from zoo.errors import ZooError

                raise ZooError(f"{path} line {number} is not a JSON record ({line[:60]!r}); remove that line (or move "
                               "the file away) and resume again")
            print(f"{path}: dropped a torn last line ({len(line)} characters), left by a process killed while "
                  "writing it", file=sys.stderr)
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
    if len(kept) != len(lines) or (text and not text.endswith("\n")):
        from zoo.io import atomic_write_text

        atomic_write_text(path, "".join(line + "\n" for line in kept))


def _tensorboard_writer(run_dir: Path) -> Any:
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{key} {value:.4f}" for key, value in metrics.items())
