"""A run fitted to its data and its machine.

A recipe is tuned for its own dataset: ``resnet18_cifar10`` runs 100 epochs of 390 steps at batch 128 with 390
warmup steps, in bf16 on a GPU. Met with 244 photos of the user's on a 2-core CPU, the same numbers make 200 steps
that never leave warmup. So when the dataset trained is not the one the recipe was written for (``config.recipe``
names another), or it is a loader of the user's own files (whose size no recipe can know), the schedule follows
the data:

- batch size: at most a quarter of the training items (so an epoch holds at least four steps), the learning rate
  scaled with it (linearly for SGD, by the square root for AdamW);
- epochs: from the dataset size (many passes over a few hundred items, few over millions), with a floor of
  optimizer steps; a recipe's ``max_steps`` gives way to them;
- warmup: a fraction of the run, never longer than a tenth of it;
- evaluation and checkpoint intervals inside the run;
- loader workers: no more than the cores this process may use, less one for the training process;
- precision: bf16 autocast is slow on CPUs without AMX, fp16 needs CUDA: fp32 there.

Whatever the data, ``trainer.threads=0`` becomes the intra-op thread count the free cores allow (on a busy 2-core
machine one thread runs small models 4-5x faster than two).

A key given on the command line (``trainer.epochs=30``) is never adapted, and a recipe pins a key by setting it to
``pinned`` in its ``adapted`` section. Every adapted key is printed at the start of the run, one line each with the
reason, and saved in ``config.adapted`` (``trainer.epochs: 100 -> 45 (244 training items: ...)``). Loaders report
what they derived from the files (``data.args.image_size``) and what they skipped through attributes of their
dataset (``fitted``, ``skipped``); both are printed and saved as well.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import registry
from zoo.config import RunConfig

PINNED = "pinned"
MIN_STEPS = 300  # optimizer steps a run on a dataset of any size takes at least
MIN_BATCHES_PER_EPOCH = 4
MAX_EPOCHS = 60
MIN_EPOCHS = 2
MAX_WARMUP_FRACTION = 0.1
OWN_FILES = "local files"  # the ``source`` of the datasets that load the user's own files


@dataclass
class Fitted:
    """What :func:`fit_run` changed (``key -> "old -> new (reason)"``) and what the loaders skipped."""

    adapted: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, Any] = field(default_factory=dict)
    threads: str = ""

    def lines(self) -> list[str]:
        out = [f"threads: {self.threads}"] if self.threads else []
        out += [f"adapted: {key} {text}" for key, text in self.adapted.items()]
        if self.skipped:
            out.append(f"skipped: {self.skipped['text']}")
        return out

    def summary(self) -> dict[str, Any]:
        """The ``data`` entry of the run's summary.json."""
        return {"adapted": dict(self.adapted), "skipped": dict(self.skipped)}


def pin(config: RunConfig, overrides: Iterable[str]) -> None:
    """Mark the keys given as ``key=value`` overrides: the run keeps them as given."""
    for text in overrides:
        key = text.partition("=")[0].strip()
        if key and key.split(".")[0] != "adapted":
            config.adapted[key] = PINNED


def needs_fitting(config: RunConfig) -> bool:
    """True when the recipe was written for another dataset, or the dataset is the user's own files."""
    entry = registry.get_task(config.task).dataset(config.data.dataset)
    return recipe_dataset(config) != config.data.dataset or entry.source == OWN_FILES


def recipe_dataset(config: RunConfig) -> str:
    """The dataset the training settings were written for: read from the recipe file ``config.recipe`` names."""
    if not config.recipe:
        return config.data.dataset
    from zoo.config import load_yaml
    from zoo.recipes import recipe_path

    path = recipe_path(config.recipe)
    if not path.is_file():
        return config.data.dataset
    return str(load_yaml(path).get("data", {}).get("dataset", config.data.dataset))


def fit_run(config: RunConfig, data: Any, device: Any, out: Any = None) -> Fitted:
    """Adapt ``config`` in place to ``data`` (a :class:`zoo.task.TaskData`) and ``device``; return what changed
    (``Fitted.lines()``: the lines a run prints at its start), and print them to ``out`` when given. A resumed run
    keeps what its saved config recorded (recorded keys are not adapted again)."""
    fitted = Fitted()
    fitted.skipped = _skipped(data)
    fit = _Fit(config, fitted)
    fitted.threads = _threads(config, fit, _workers_after(config, data, fit))
    for key, value in _derived(data).items():  # what a loader derived from the files, e.g. data.args.image_size
        old, new, reason = value
        if fit.free(key):
            _set(config, key, new)
            fit.record(key, old, new, reason)
    if needs_fitting(config) and data.train is not None:
        _schedule(config, len(data.train), fit)
        _precision(config, device, fit)
    for line in fitted.lines() if out is not None else []:
        print(line, file=out, flush=True)
    return fitted


class _Fit:
    def __init__(self, config: RunConfig, fitted: Fitted):
        self.config, self.fitted = config, fitted

    def free(self, key: str) -> bool:
        """Neither pinned nor already recorded (a resumed run)."""
        return key not in self.config.adapted

    def record(self, key: str, old: Any, new: Any, reason: str) -> None:
        text = f"{_show(old)} -> {_show(new)} ({reason})"
        self.config.adapted[key] = text
        self.fitted.adapted[key] = text

    def set(self, key: str, new: Any, reason: str) -> bool:
        old = _get(self.config, key)
        if not self.free(key) or old == new:
            return False
        _set(self.config, key, new)
        self.record(key, old, new, reason)
        return True


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "none" if value is None else str(value)


def _get(config: RunConfig, key: str) -> Any:
    node: Any = config
    *parents, last = key.split(".")
    for part in parents:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node.get(last) if isinstance(node, dict) else getattr(node, last)


def _set(config: RunConfig, key: str, value: Any) -> None:
    node: Any = config
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(node, dict) else getattr(node, part)
    if isinstance(node, dict):
        node[last] = value
    else:
        setattr(node, last, value)


# -- the schedule -----------------------------------------------------------------------------------------------


def epochs_for(size: int) -> int:
    """Passes over a dataset of ``size`` items: 45 for 244 items, 25 for 2,700, 10 for 100,000, 6 for a million."""
    return max(MIN_EPOCHS, min(MAX_EPOCHS, round(10 * (100_000 / max(size, 1)) ** 0.25)))


def batch_for(batch_size: int, size: int) -> int:
    """The recipe's batch, or the largest power of two that leaves ``MIN_BATCHES_PER_EPOCH`` steps in an epoch."""
    if size >= batch_size * MIN_BATCHES_PER_EPOCH:
        return batch_size
    return min(batch_size, 2 ** int(math.log2(max(size // MIN_BATCHES_PER_EPOCH, 1))))


def _schedule(config: RunConfig, size: int, fit: _Fit) -> None:
    data, optim, trainer, scheduler = config.data, config.optim, config.trainer, config.scheduler
    what = f"{size:,} training items"
    batch = batch_for(data.batch_size, size)
    old_batch = data.batch_size
    if fit.set("data.batch_size", batch, f"{what}: at least {MIN_BATCHES_PER_EPOCH} steps per epoch"):
        ratio = batch / old_batch
        scale = ratio if optim.name == "sgd" else math.sqrt(ratio)
        rule = "linear" if optim.name == "sgd" else "square-root"
        fit.set("optim.lr", float(f"{optim.lr * scale:.3g}"), f"batch {old_batch} -> {batch}, {rule} scaling "
                f"for {optim.name}")
    if data.eval_batch_size is not None and data.eval_batch_size < data.batch_size:
        fit.set("data.eval_batch_size", data.batch_size, "at least the training batch")
    steps_per_epoch = math.ceil(size / data.batch_size / max(trainer.accumulate, 1))
    epochs = epochs_for(size)
    reason = f"{what}: {epochs} passes for this size"
    if epochs * steps_per_epoch < MIN_STEPS:
        epochs = min(math.ceil(MIN_STEPS / steps_per_epoch), 10 * MAX_EPOCHS)
        reason = f"{what}, {steps_per_epoch} steps per epoch: at least {MIN_STEPS} optimizer steps"
    if trainer.max_steps and fit.free("trainer.max_steps") and fit.free("trainer.epochs"):
        fit.set("trainer.max_steps", 0, f"{what}: epochs decide")
    if not trainer.max_steps:
        fit.set("trainer.epochs", epochs, reason)
    total = trainer.max_steps or trainer.epochs * steps_per_epoch
    if scheduler.warmup_steps > MAX_WARMUP_FRACTION * total and fit.free("scheduler.warmup_steps"):
        fraction = round(min(MAX_WARMUP_FRACTION, scheduler.warmup_steps / total), 3)
        old = scheduler.warmup_steps
        fit.set("scheduler.warmup_steps", 0, f"{old} steps of a {total}-step run: a fraction instead")
        fit.set("scheduler.warmup_fraction", fraction, f"at most {MAX_WARMUP_FRACTION:.0%} of {total} steps")
    elif scheduler.warmup_fraction > MAX_WARMUP_FRACTION and not scheduler.warmup_steps:
        fit.set("scheduler.warmup_fraction", MAX_WARMUP_FRACTION, f"at most {MAX_WARMUP_FRACTION:.0%} of the run")
    for key in ("eval_every", "checkpoint_every"):
        every = getattr(trainer, key)
        if every > total:
            fit.set(f"trainer.{key}", 0, f"{every} steps is beyond the {total}-step run: every epoch")
    if trainer.log_every > max(steps_per_epoch, 1) and trainer.log_every > total // 20:
        fit.set("trainer.log_every", max(1, min(steps_per_epoch, total // 20)), f"{total} steps in all")


# -- the machine ------------------------------------------------------------------------------------------------


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; containers and taskset narrow it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def threads_for(cores: int, load: float, workers: int = 0) -> int:
    """Intra-op threads: the cores left free by other processes and this run's loader workers, at least one."""
    free = cores - workers - load
    return max(1, min(cores - workers, math.floor(free + 0.5)))


def _workers_after(config: RunConfig, data: Any, fit: _Fit) -> int:
    """Cap ``data.num_workers`` at the usable cores less one, for every run; returns the count kept."""
    cores = usable_cores()
    workers = config.data.num_workers
    if workers and getattr(data.train, "tensors", None) is not None and config.data.device_resident:
        fit.set("data.num_workers", 0, "the training split is in memory: batches are gathered on the device")
    elif workers > max(cores - 1, 0):
        fit.set("data.num_workers", max(cores - 1, 0), f"{cores} usable core{'s' * (cores != 1)}, one trains")
    return config.data.num_workers


def _threads(config: RunConfig, fit: _Fit, workers: int) -> str:
    from zoo import distributed

    cores, load = max(1, usable_cores() // distributed.world_size()), load_average()
    if config.trainer.threads > 0:
        how = "as pinned" if config.adapted.get("trainer.threads") == PINNED else "from the recipe"
        return f"{config.trainer.threads} of {cores} usable cores ({how}; load {load:.1f})"
    count = threads_for(cores, load, workers)
    fit.set("trainer.threads", count, f"{cores} usable cores, load {load:.1f}, {workers} loader workers")
    return f"{count} of {cores} usable cores (load {load:.1f}, {workers} loader workers)"


def cpu_runs_bf16_fast() -> bool:
    """CPUs with AMX (Sapphire Rapids and later) run bf16 matrix products natively; others emulate them slowly."""
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _precision(config: RunConfig, device: Any, fit: _Fit) -> None:
    precision, kind = config.trainer.precision, getattr(device, "type", str(device))
    if kind == "cpu" and precision == "bf16" and not cpu_runs_bf16_fast():
        fit.set("trainer.precision", "fp32", "bf16 autocast is emulated on this CPU (no AMX): slower than fp32")
    elif kind == "cpu" and precision == "fp16":
        fit.set("trainer.precision", "fp32", "fp16 needs CUDA")
    elif kind == "cuda" and precision == "fp32":
        import torch

        fast = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        fit.set("trainer.precision", fast, f"{torch.cuda.get_device_name(device)} runs {fast} tensor cores")


# -- what loaders report ----------------------------------------------------------------------------------------


def _datasets(data: Any) -> list[Any]:
    return [d for d in (data.train, data.val) if d is not None]


def _derived(data: Any) -> dict[str, tuple[Any, Any, str]]:
    out: dict[str, tuple[Any, Any, str]] = {}
    for dataset in _datasets(data):
        out.update(getattr(dataset, "fitted", None) or {})
    return out


def _skipped(data: Any) -> dict[str, Any]:
    """Counts per reason over the splits, and one line of text naming them with an example each."""
    seen: dict[str, list[str]] = {}
    for dataset in _datasets(data):  # splits listed from one folder report the same files: count them once
        for reason, paths in (getattr(dataset, "skipped", None) or {}).items():
            kept = seen.setdefault(reason, [])
            kept += [str(p) for p in paths if str(p) not in kept]
    counts = {reason: len(paths) for reason, paths in seen.items() if paths}
    examples = {reason: paths[0] for reason, paths in seen.items() if paths}
    if not counts:
        return {}
    parts = [f"{n} {reason} (e.g. {examples[reason]})" if reason in examples else f"{n} {reason}"
             for reason, n in counts.items()]
    return {"counts": counts, "text": f"{sum(counts.values())} in all: " + "; ".join(parts)}
