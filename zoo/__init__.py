"""zoo: a PyTorch model zoo for vision, NLP, speech, recommendation, medical imaging and driving perception.

Listing is light (no torch import); building, training and evaluation import what they need on first use.

>>> import zoo
>>> zoo.list_tasks()
['vision', 'recommendation', 'nlp', 'speech', 'medical', 'driving']
>>> [m.name for m in zoo.list_models("vision", pattern="resnet*")]
['resnet18', 'resnet34', 'resnet50']
>>> model = zoo.build_model("vision", "resnet18", pretrained=True)     # torchvision's ImageNet weights, cached
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo.registry import get_dataset_entry, get_model_entry, get_task, list_datasets, list_models, list_tasks

if TYPE_CHECKING:
    from zoo.hub.catalog import CheckpointEntry

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "list_tasks",
    "list_models",
    "list_datasets",
    "get_task",
    "get_model_entry",
    "get_dataset_entry",
    "build_model",
    "list_checkpoints",
    "build_dataset",
    "train",
    "evaluate",
    "predict",
    "load",
    "write_samples",
]


def build_model(task: str, name: str, pretrained: bool | str = False, **kwargs: Any) -> Any:
    """A model of a registered name; ``kwargs`` go to its builder. ``pretrained=True`` or a tag loads catalog
    weights (``zoo checkpoints`` lists them), e.g. ``build_model("vision", "resnet18", pretrained="imagenet1k_v1")``."""
    from zoo.api import build_model as _build_model

    return _build_model(task, name, pretrained=pretrained, **kwargs)


def list_checkpoints(task: str | None = None, model: str | None = None) -> list[CheckpointEntry]:
    """Pretrained checkpoints in the catalogs (no torch import); see :mod:`zoo.hub`."""
    from zoo.hub.catalog import list_checkpoints as _list_checkpoints

    return _list_checkpoints(task, model)


def build_dataset(task: str, name: str, split: str = "train", root: str | None = None, download: bool = False, **kwargs: Any) -> Any:
    """One split of a registered dataset."""
    from zoo.api import build_dataset as _build_dataset

    return _build_dataset(task, name, split=split, root=root, download=download, **kwargs)


def train(task: str | None = None, **kwargs: Any) -> Any:
    """Train a recipe and return a :class:`zoo.api.TrainResult`; see :func:`zoo.api.train`."""
    from zoo.api import train as _train

    return _train(task, **kwargs)


def evaluate(checkpoint: Any, **kwargs: Any) -> dict[str, float]:
    """Metrics of a checkpoint; see :func:`zoo.api.evaluate`."""
    from zoo.api import evaluate as _evaluate

    return _evaluate(checkpoint, **kwargs)


def predict(checkpoint: Any, inputs: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    """Predictions of a checkpoint for raw inputs; see :func:`zoo.api.predict`."""
    from zoo.api import predict as _predict

    return _predict(checkpoint, inputs, **kwargs)


def load(checkpoint: Any, device: str | None = None) -> Any:
    """A checkpoint's task, model and metadata; see :func:`zoo.api.load`."""
    from zoo.api import load as _load

    return _load(checkpoint, device)


def write_samples(task: str, output: Any = None, **kwargs: Any) -> list[Any]:
    """Sample input files of a recipe's validation split, to try ``predict`` on; see :func:`zoo.samples.write_samples`."""
    from zoo.samples import write_samples as _write_samples

    return _write_samples(task, output, **kwargs)
