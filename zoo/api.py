"""The notebook interface: build, train, evaluate and predict in a few calls.

>>> import zoo
>>> model = zoo.build_model("vision", "resnet18", num_classes=10, small_input=True)
>>> result = zoo.train(task="vision", trainer__epochs=1)      # or overrides={"trainer.epochs": 1}
>>> zoo.evaluate(result.best_checkpoint)["val/top1"]
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo import fit, recipes, registry
from zoo.config import RunConfig, apply_overrides, from_dict, migrate, recorded_overrides, saved_run_config
from zoo.errors import CheckpointError, ConfigError


def build_model(task: str, name: str, pretrained: bool | str = False, **kwargs: Any) -> Any:
    """A model; ``kwargs`` go to its builder (e.g. ``num_classes``).

    ``pretrained`` takes what ``model.pretrained`` takes: ``True`` (the model's default catalog checkpoint), a
    catalog name or tag (``python -m zoo checkpoints``), a zoo checkpoint or run directory, or a model directory or
    weights file; a head with another class count is re-initialised with a warning (see :mod:`zoo.pretrained`).
    """
    from zoo.task import call_with_args

    if pretrained:
        from zoo.pretrained import build_pretrained

        return build_pretrained(task, name, pretrained, kwargs)
    entry = registry.get_model_entry(task, name)
    return call_with_args(registry.load_object(entry.builder), kwargs, {}, "arguments", entry.builder)


def build_for_recipe(
    task: str, name: str, overrides: list[str] | tuple[str, ...] = (), splits: tuple[str, ...] = ("train",),
    meta: bool = False,
) -> tuple[Any, Any, Any]:
    """``(task, data, model)``: model ``name`` as its recipe builds it on its problem's default dataset, from
    scratch (``model.pretrained`` cleared); ``meta=True`` builds it on the meta device (shapes only, no memory)."""
    import torch

    from zoo.task import load_task

    entry = registry.get_task(task)
    dataset = entry.problem(entry.model(name).problem).default_dataset
    config = recipes.resolve(task, model=name, dataset=dataset, overrides=["model.pretrained=", *overrides])
    task_impl = load_task(config)
    data = task_impl.build_data(list(splits))
    torch.manual_seed(config.trainer.seed)
    if meta:
        with torch.device("meta"):
            return task_impl, data, task_impl.build_model(data.info)
    return task_impl, data, task_impl.build_model(data.info)


def build_dataset(
    task: str, name: str, split: str = "train", root: str | None = None, download: bool = False, **kwargs: Any
) -> Any:
    """One split of a registered dataset, as its loader returns it."""
    from zoo.task import call_with_args

    entry = registry.get_dataset_entry(task, name)
    args = {"root": root, "download": download, **kwargs}
    return call_with_args(registry.load_object(entry.loader), args, {"split": split}, "arguments", entry.loader)


@dataclass
class TrainResult:
    """What ``train`` hands back: where the run lives, its summary, and the trained model (EMA weights if used)."""

    run_dir: Path
    summary: dict[str, Any]
    model: Any = field(repr=False, default=None)

    @property
    def metrics(self) -> dict[str, float]:
        return self.summary["final"]

    @property
    def best_checkpoint(self) -> Path:
        return self.run_dir / "checkpoints" / "best"

    @property
    def best(self) -> dict[str, float]:
        """Validation metrics at the best checkpoint (by the monitored metric)."""
        return {k: v for k, v in self.summary["best"].items() if k.startswith("val/")}

    def evaluate(self, **kwargs: Any) -> dict[str, float]:
        """:func:`evaluate` on the best checkpoint."""
        return evaluate(self.best_checkpoint, **kwargs)

    def predict(self, inputs: list[str] | tuple[str, ...] = (), **options: Any) -> list[dict[str, Any]]:
        """:func:`predict` with the best checkpoint."""
        return predict(self.best_checkpoint, inputs, **options)

    def plot(self) -> list[Path]:
        """Loss, metric and learning-rate curves as PNG files in ``run_dir/plots``."""
        from zoo.plots import plot_run

        return plot_run(self.run_dir)

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k.removeprefix('val/')}={v:.4f}" for k, v in self.best.items())
        return f"TrainResult({self.summary['task']}/{self.summary['model']} on {self.summary['dataset']}, " \
               f"best at step {self.summary['best']['step']}: {metrics}; run_dir={str(self.run_dir)!r})"

    def _repr_html_(self) -> str:
        from zoo.table import Table

        rows = [("run", str(self.run_dir)), ("task", self.summary["task"]), ("model", self.summary["model"]),
                ("dataset", self.summary["dataset"]), ("steps", self.summary["steps"]),
                ("best step", self.summary["best"]["step"]), *self.best.items()]
        return Table(rows, [("", lambda r: r[0]), ("", lambda r: r[1])])._repr_html_()


def default_run_dir(config: RunConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / config.task / f"{config.model.name}-{config.data.dataset}-{stamp}"


def prepare_run(
    task: str | None = None,
    model: str | None = None,
    dataset: str | None = None,
    config: str | Path | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
    problem: str | None = None,
) -> tuple[RunConfig, Path]:
    """The config and run directory of a new or resumed run; resuming reads the run's own saved config."""
    if resume:
        if output is None:
            raise ConfigError("--resume needs --output DIR: the run directory to continue")
        run_dir = Path(output)
        _check_output(run_dir)
        if (run_dir / "config.yaml").is_file():
            data = saved_run_config(run_dir)
            _check_same_run(run_dir, data, task, problem, model, dataset, config)
            earlier = recorded_overrides(run_dir)
            changed = apply_overrides(copy.deepcopy(data), list(overrides))
            _check_same_run(run_dir, data, changed.get("task"), changed.get("problem"),
                            (changed.get("model") or {}).get("name"), (changed.get("data") or {}).get("dataset"),
                            None, how="key=value")
            run_config = from_dict(changed)
            recipes.check_names(run_config)
            fit.pin(run_config, [*earlier, *overrides])
            return run_config, run_dir
    run_config = recipes.resolve(task, model, dataset, config, overrides, problem=problem)
    fit.pin(run_config, overrides)  # what the user gave is never fitted to the data
    run_dir = Path(output) if output is not None else default_run_dir(run_config)
    _check_output(run_dir)
    if not resume and (run_dir / "checkpoints").exists():
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it, or choose another --output")
    return run_config, run_dir


def _check_output(run_dir: Path) -> None:
    """A run directory that cannot be one fails now, in one line, before torch is imported or a model built."""
    import os

    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--output {run_dir} is a file, not a directory: give a new directory for the run, or a run "
                          "directory to --resume")
    parent = run_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--output {run_dir} cannot be made: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--output {run_dir} cannot be made: {parent} is not writable; choose another --output")


def _check_same_run(
    run_dir: Path, saved: dict[str, Any], task: str | None, problem: str | None, model: str | None,
    dataset: str | None, config: str | Path | None, how: str = "",
) -> None:
    """A resume continues the run as it is: a task, problem, model or dataset of another run is refused."""
    if config is not None:
        raise ConfigError(f"--resume continues {run_dir} with its own config.yaml; drop --config {config}, and give "
                          "changes (more epochs, say) as key=value")
    task_name, _, task_problem = str(task or "").partition("/")
    given = {"task": task_name, "problem": problem or task_problem, "model": model, "dataset": dataset}
    have = {"task": saved.get("task"), "problem": saved.get("problem"), "model": (saved.get("model") or {}).get("name"),
            "dataset": (saved.get("data") or {}).get("dataset")}
    keys = {"task": "task", "problem": "problem", "model": "model.name", "dataset": "data.dataset"}
    for what, value in given.items():
        if value and have[what] and value != have[what]:
            flag = f"{keys[what]}={value}" if how else f"--{what} {value}"
            raise ConfigError(f"{run_dir} is a run of {what} {have[what]!r}; --resume cannot switch it to {flag}: "
                              f"drop it, or train the new run in another --output")


def train(
    task: str | None = None,
    *,
    problem: str | None = None,
    model: str | None = None,
    dataset: str | None = None,
    config: str | Path | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    overrides: dict[str, Any] | list[str] | None = None,
    **kwargs: Any,
) -> TrainResult:
    """Train a recipe; ``trainer__epochs=1`` is the keyword form of the override ``trainer.epochs=1``.

    ``problem`` (or ``task="vision/detection"``) picks a problem's default recipe; a model picks its own problem.
    """
    items = overrides.items() if isinstance(overrides, dict) else []
    texts = [o for o in overrides or [] if isinstance(overrides, list)]
    texts += [f"{k}={_yaml(v)}" for k, v in [*items, *((k.replace("__", "."), v) for k, v in kwargs.items())]]
    run_config, run_dir = prepare_run(task, model, dataset, config, output, resume, texts, problem=problem)
    from zoo.trainer import Trainer  # torch, once the names, the config and the run directory are known good

    trainer = Trainer(run_config, run_dir)
    summary = trainer.fit(resume=resume)
    return TrainResult(trainer.run_dir, summary, trainer.inference_model)


def _yaml(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class Loaded:
    """A checkpoint ready to use: its task, model (inference weights), config and saved metadata."""

    task: Any
    model: Any
    config: RunConfig
    meta: dict[str, Any]
    path: Path


def _read_checkpoint(checkpoint: str | Path) -> tuple[Path, dict[str, Any], RunConfig]:
    """A checkpoint's directory, meta.json and config, read without torch."""
    from zoo.checkpoint_meta import META_FILE, read_meta, resolve, written_by

    path = resolve(checkpoint)
    meta = read_meta(path)
    try:
        return path, meta, from_dict(migrate(meta["config"]))
    except ConfigError as error:  # a key of another version is no typo: say which version wrote it
        first = str(error).split(". Did you mean")[0].split(". Valid ")[0].rstrip(".")
        raise CheckpointError(f"the config in {path / META_FILE} does not fit this zoo ({first}): "
                              f"{written_by(meta)}; load it with that version") from None


def load(checkpoint: str | Path, device: str | None = None) -> Loaded:
    """Rebuild the model of a checkpoint from its saved config and load its inference weights."""
    path, meta, config = _read_checkpoint(checkpoint)
    from zoo import checkpoint as ckpt  # torch, once the path and its meta.json are known good
    from zoo.runtime import select_device
    from zoo.task import load_task

    if device is not None:
        config.trainer.device = device
    task = load_task(config, meta["info"])
    model = task.build_model(meta["info"])
    ckpt.load_weights(path, model, meta.get("inference_weights", "model"))
    model.to(select_device(config.trainer.device)).eval()
    return Loaded(task, model, config, meta, path)


def evaluate(
    checkpoint: str | Path,
    dataset: str | None = None,
    split: str = "val",
    device: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    report: str | Path | bool = False,
) -> dict[str, float]:
    """Metrics of a checkpoint on a split; on the recipe's own validation split they equal what training logged.

    ``report=True`` also writes the task's figures (confusion matrix, sample predictions) under the run's
    ``reports/`` directory (see :func:`report_dir`), ``report=DIR`` into ``DIR``; needs the ``plot`` extra.
    """
    return evaluate_with_report(checkpoint, dataset, split, device, overrides, report)[0]


def report_dir(checkpoint: Path, dataset: str, split: str) -> Path:
    """``RUN/reports/<checkpoint>-<dataset>-<split>`` for a checkpoint inside a run, else beside the checkpoint."""
    checkpoint = Path(checkpoint).resolve()
    run = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    return run / "reports" / f"{checkpoint.name}-{dataset}-{split}"


def evaluate_with_report(
    checkpoint: str | Path,
    dataset: str | None = None,
    split: str = "val",
    device: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    report: str | Path | bool = False,
) -> tuple[dict[str, float], list[Path]]:
    """:func:`evaluate`, and the paths of the figures it wrote."""
    if dataset is not None:  # a misspelt dataset is said before the model is built
        registry.get_task(_read_checkpoint(checkpoint)[2].task).dataset(dataset)
    loaded = load(checkpoint, device)
    import torch

    from zoo.labels import check_same_classes
    from zoo.runtime import Precision, cpu_threads, select_device
    from zoo.task import load_task
    from zoo.trainer import evaluate as run_evaluation
    from zoo.trainer import make_eval_loader

    config = loaded.config
    if dataset is not None and dataset != config.data.dataset:
        config.data.dataset, config.data.args = dataset, {}
    config = from_dict(apply_overrides(config.to_dict(), list(overrides)))
    recipes.check_names(config)
    task = load_task(config, loaded.meta["info"])
    data = task.build_data([split])
    check_same_classes(loaded.meta["info"], data.info, config.data.dataset)  # by name, not by number
    if split == "train":
        data.val, data.val_lengths = data.train, data.train_lengths
    device_ = select_device(config.trainer.device)
    loader = make_eval_loader(data, config, device_)
    metrics = task.build_metrics(loaded.meta["info"]).to(device_)
    precision = Precision(config.trainer.precision, device_)
    if config.trainer.channels_last:
        loaded.model.to(memory_format=torch.channels_last)
    figures: list[Path] = []
    with cpu_threads(config.trainer.threads):
        results = run_evaluation(
            task, loaded.model, loader, metrics, device_, precision, config.trainer.channels_last
        )
        if report:
            from zoo.plots import pyplot
            from zoo.runtime import move_to_device

            pyplot()  # a missing extra fails before the second pass, with the pip command
            directory = Path(report) if not isinstance(report, bool) else report_dir(
                loaded.path, config.data.dataset, split)
            batches = (move_to_device(b, device_, True, config.trainer.channels_last) for b in loader)
            try:
                with torch.no_grad(), precision.autocast():
                    figures = task.report(loaded.model, batches, loaded.meta["info"], directory)
            except OSError as error:  # a read-only or full run directory: the metrics still count
                import sys

                where = error.filename or directory
                print(f"figures not written: {error.strerror or error}: {where}; pass --report DIR to write them "
                      "elsewhere, or --no-report", file=sys.stderr)
    return {f"{split}/{k}": v for k, v in results.items()}, figures


def predict(
    checkpoint: str | Path | Loaded, inputs: list[str] | tuple[str, ...] = (), device: str | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Predictions for raw inputs (image paths for vision), using the labels and preprocessing saved with it.

    ``checkpoint`` is a path or what :func:`load` returned; ``options`` are the task's predict options, e.g.
    ``zoo.predict(ckpt, user="196", k=5)`` for recommendation.
    """
    from zoo.runtime import cpu_threads, select_device
    from zoo.task import run_predict

    loaded = checkpoint if isinstance(checkpoint, Loaded) else load(checkpoint, device)
    device_ = select_device(loaded.config.trainer.device)
    with cpu_threads(loaded.config.trainer.threads):  # as the recipe runs best, like training and evaluate
        return run_predict(loaded.task, loaded.model, list(inputs), loaded.meta["info"], device_, options)
