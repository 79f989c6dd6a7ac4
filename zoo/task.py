"""The interface between the shared trainer and a domain.

A domain subclasses :class:`Task` and fills in data, model, metrics, one training step, one evaluation step and
prediction. The trainer calls only these methods, so it holds no branch on the kind of task: a detection model
that returns a loss dict in training and boxes in evaluation, a recommender ranking all items, or a classifier
all look the same from the loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from zoo import registry
from zoo.config import RunConfig, _build
from zoo.builders import call_with_args  # noqa: F401  (re-exported: the Tasks call it from here)
from zoo.errors import ConfigError


@dataclass
class TaskData:
    """Datasets of a run and what must be saved with its checkpoints (label names, preprocessing)."""

    train: Dataset | None
    val: Dataset | None
    info: dict[str, Any]
    collate: Callable[[list[Any]], Any] | None = None
    # Per-sample transforms; the trainer seeds their randomness by (seed, epoch, index) for exact resumption.
    train_transform: Callable[[Any], Any] | None = None
    eval_transform: Callable[[Any], Any] | None = None
    # Sizes of the items (tokens, frames); given, batches are drawn from items of similar size to pad less.
    train_lengths: Sequence[int] | None = None
    val_lengths: Sequence[int] | None = None
    # Whole-batch transforms ``(tensors, SampleRandom) -> batch`` for datasets holding their items as ``tensors``;
    # given, batches are gathered and transformed on the device (``data.device_resident``), see zoo.data.DeviceLoader.
    train_batch_transform: Callable[[tuple[Any, ...], Any], Any] | None = None
    eval_batch_transform: Callable[[tuple[Any, ...], Any], Any] | None = None


def evaluated_split(loaded: dict[str, Any]) -> Any | None:
    """The split that is not ``"train"`` among those loaded (validation in training, any split in evaluate)."""
    return next((value for split, value in loaded.items() if split != "train"), None)


@dataclass
class StepOutput:
    """A step's loss (mean over the batch), its sample count, and extra scalars worth logging."""

    loss: torch.Tensor
    size: int
    logs: dict[str, torch.Tensor] = field(default_factory=dict)


class Task:
    """Base class of a domain's task; subclasses override the methods that raise ``NotImplementedError``."""

    monitor: str = "loss"  # validation metric that picks the best checkpoint
    monitor_mode: str = "min"
    Options: type | None = None  # a dataclass describing ``task_args``
    # A dataclass of the options ``predict`` takes besides its inputs (``zoo predict --NAME VALUE``,
    # ``zoo.predict(checkpoint, NAME=VALUE)``); when set, ``predict`` receives them as ``options``.
    PredictOptions: type | None = None
    # The info of the checkpoint being loaded (``zoo.api.load``/``evaluate``), else None. Preprocessing fitted to the
    # training data (a tokenizer, a vocabulary, an id map) is read from it instead of being fitted again.
    saved_info: dict[str, Any] | None = None

    def __init__(self, config: RunConfig):
        self.config = config
        self.entry = registry.get_task(config.task)
        self.problem_entry = self.entry.problem(config.problem or self.entry.model(config.model.name).problem)
        self.options = _build(self.Options, config.task_args, "task_args.") if self.Options else None
        if self.Options is None and config.task_args:
            raise ConfigError(f"task {config.task!r} takes no task_args, got {sorted(config.task_args)}")

    # -- data ---------------------------------------------------------------------------------------------------
    def build_data(self, splits: Sequence[str]) -> TaskData:
        """``splits`` holds ``"train"`` and at most one evaluated split (``"val"``, or ``"test"`` where the dataset
        has one), which goes in :attr:`TaskData.val`; see :func:`evaluated_split`."""
        raise NotImplementedError

    def load_split(self, split: str) -> Any:
        """Call the registered loader of ``data.dataset`` with ``data.args``, checked against its signature."""
        entry = self.entry.dataset(self.config.data.dataset)
        loader = registry.load_object(entry.loader)
        return call_with_args(loader, self.config.data.args, {"split": split}, "data.args", entry.loader)

    # -- model --------------------------------------------------------------------------------------------------
    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        """Builder arguments implied by the data (class count, channels); ``model.args`` overrides them."""
        return {}

    def build_model(self, info: dict[str, Any]) -> nn.Module:
        """The model of ``model.args`` and what the data implies; with ``model.pretrained``, started from those
        weights (see :mod:`zoo.pretrained`), recorded in ``info['pretrained']`` so that the checkpoint rebuilds the
        same architecture without the source. A checkpoint being loaded brings its own weights."""
        entry = self.entry.model(self.config.model.name)
        defaults = self.model_defaults(info)
        source = self.config.model.pretrained
        if source and self.saved_info is None:
            from zoo import pretrained

            model, info["pretrained"] = pretrained.build(
                self.config.task, entry.name, source, self.config.model.args, defaults, labels=info.get("classes"))
            return model
        fitted = (info.get("pretrained") or {}).get("builder_args", {})
        builder = registry.load_object(entry.builder)
        model = call_with_args(builder, self.config.model.args, {**defaults, **fitted}, "model.args", entry.builder)
        empty = next((name for name, p in model.named_parameters() if p.numel() == 0), None)
        if empty is not None:
            given = ", ".join(f"{k}={v!r}" for k, v in self.config.model.args.items())
            raise ConfigError(f"model.args {given} build an empty layer ({empty}); every size must be at least 1")
        return model

    # -- steps and metrics ----------------------------------------------------------------------------------------
    def build_metrics(self, info: dict[str, Any]) -> Any:
        """A torchmetrics MetricCollection (synchronised across ranks by torchmetrics itself)."""
        raise NotImplementedError

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        raise NotImplementedError

    def eval_step(self, model: nn.Module, batch: Any, metrics: Any) -> StepOutput:
        raise NotImplementedError

    # -- prediction ---------------------------------------------------------------------------------------------
    def predict(self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device) -> list[dict]:
        """Turn raw inputs (file paths, texts, ids) into JSON-ready predictions."""
        raise NotImplementedError

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return str(prediction)

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Write up to ``count`` inputs of the dataset's validation split as ``predict`` reads them, with
        ``references.json`` (see :mod:`zoo.samples`); returns the input paths."""
        raise ConfigError(f"task {self.config.task!r} writes no sample input files: its predict reads no files")

    def predict_inputs(self, directory: Path, info: dict[str, Any]) -> list[str]:
        """Inputs ``predict`` takes, as a user gives them, cut from the validation split into ``directory``: the files
        :meth:`write_samples` writes (a task whose inputs are not files overrides this)."""
        return [str(path) for path in self.write_samples(directory, 2)]

    # -- figures ------------------------------------------------------------------------------------------------
    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """Figures a person reads after an evaluation (a confusion matrix, sample predictions), written with
        :mod:`zoo.plots` into ``directory``; ``batches`` are the evaluated split's, already on the model's device."""
        return []


def run_predict(
    task: Task, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
    options: dict[str, Any] | None = None,
) -> list[dict]:
    """``task.predict`` with ``options`` checked against ``task.PredictOptions``; unknown names list the valid ones."""
    options = options or {}
    if task.PredictOptions is None:
        if options:
            raise ConfigError(f"task {task.config.task!r} takes no predict options, got {', '.join(sorted(options))}")
        if not inputs:
            raise ConfigError(f"predict for task {task.config.task!r} needs at least one INPUT (e.g. an image file)")
        return task.predict(model, inputs, info, device)
    valid = [f.name for f in dataclasses.fields(task.PredictOptions)]
    for name in options:
        if name not in valid:
            from zoo.errors import UnknownNameError

            raise UnknownNameError("predict option", name, valid, where=f"for task {task.config.task!r}")
    return task.predict(model, inputs, info, device, options=_build(task.PredictOptions, options, ""))


def load_task(config: RunConfig, saved_info: dict[str, Any] | None = None) -> Task:
    """The Task of ``config``'s problem (the model's); ``saved_info`` is the info of a checkpoint being loaded (see
    ``Task.saved_info``)."""
    entry = registry.get_task(config.task)
    problem = entry.problem(config.problem or entry.model(config.model.name).problem)
    task = registry.load_object(problem.implementation)(config)
    task.saved_info = saved_info
    return task
