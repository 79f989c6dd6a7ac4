"""Diagnosis: one label per scan (softmax, cross-entropy) or several findings at once (sigmoid, binary
cross-entropy), scored by AUROC and accuracy, macro and per class."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.errors import ConfigError
from zoo.medical import metrics, readers
from zoo.medical.data import MedicalSplit, normalise
from zoo.medical.transforms import ClassifyItem
from zoo.problems import classification
from zoo.problems.classification import classification_loss
from zoo.task import StepOutput


@dataclass
class ClassificationOptions:
    label_smoothing: float = 0.0  # multi-class only
    pos_weight: float = 1.0  # multi-label: weight of positive findings in the loss (rare findings: above 1)
    crop_padding: int = 0  # random shifts of up to this many pixels in training; 0 turns them off
    hflip: bool = False  # random left-right flips (off by default: anatomy is not mirror-symmetric)
    vflip: bool = False  # random up-down flips


@dataclass
class ClassificationPredictOptions:
    threshold: float = field(default=0.5, metadata={"help": "multi-label: findings at or above this probability"})


class Classification:
    name = "classification"
    Options = ClassificationOptions
    PredictOptions = ClassificationPredictOptions
    monitor = "auroc"
    collate = None
    options: ClassificationOptions

    def info(self, split: MedicalSplit) -> dict[str, Any]:
        if split.image_size is None:
            raise ConfigError(f"dataset {split.name!r} has images of several sizes; classifiers need one: set "
                              "data.args.image_size")
        if split.spatial_dims != 2:
            raise ConfigError("the classifiers take 2D images; for volumes, train a segmentation model (--model unet)")
        return {
            "dataset": split.name, "classes": list(split.classes or []), "num_classes": len(split.classes or []),
            "multi_label": split.multi_label, "channels": split.channels, "spatial_dims": 2,
            "image_size": list(split.image_size), "mean": list(split.mean), "std": list(split.std),
            "intensity": split.intensity,
        }

    def transform(self, info: dict[str, Any], train: bool) -> ClassifyItem:
        o = self.options
        return ClassifyItem(info["mean"], info["std"], info["multi_label"], train, o.crop_padding, o.hflip, o.vflip)

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_classes": info["num_classes"], "in_channels": info["channels"]}

    def check_model(self, model: nn.Module, info: dict[str, Any]) -> None:
        return None

    def metrics(self, info: dict[str, Any]) -> Any:
        return metrics.classification_metrics(info["classes"], info["multi_label"])

    def loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        return classification_loss(logits, targets, self.options.label_smoothing, self.options.pos_weight)

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, targets = batch
        return StepOutput(self.loss(model(images), targets), targets.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, collection: Any) -> StepOutput:
        images, targets = batch
        logits = model(images).float()
        if targets.is_floating_point():
            collection.update(logits.sigmoid(), targets.long())
        else:
            collection.update(logits.softmax(dim=-1), targets)
        return StepOutput(self.loss(logits, targets), targets.shape[0])

    def predict(
        self, model: nn.Module, inputs: list[str], info: dict[str, Any], device: torch.device,
        options: ClassificationPredictOptions,
    ) -> list[dict[str, Any]]:
        images = torch.stack([prepare(path, info) for path in inputs]).to(device)
        logits = model(images).float().cpu()
        probs = logits.sigmoid() if info["multi_label"] else logits.softmax(dim=-1)
        results = []
        for path, row in zip(inputs, probs.tolist()):
            record: dict[str, Any] = {
                "input": str(path), "probabilities": {c: round(p, 4) for c, p in zip(info["classes"], row)}
            }
            if info["multi_label"]:
                record["findings"] = [c for c, p in zip(info["classes"], row) if p >= options.threshold]
            else:
                record["label"] = info["classes"][max(range(len(row)), key=row.__getitem__)]
            results.append(record)
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        ranked = sorted(prediction["probabilities"].items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{c} {p:.3f}" for c, p in ranked[:5])
        head = prediction.get("label") or ("findings: " + (", ".join(prediction["findings"]) or "none"))
        return f"{prediction['input']}: {head} ({shown})"

    def report(self, model: nn.Module, batches: Any, info: dict[str, Any], directory: Path) -> list[Path]:
        return classification.report(model, batches, info, directory, what="scans")


def prepare(path: str, info: dict[str, Any]) -> Tensor:
    """A file read as the training images were: intensity mapping, size, normalisation."""
    image = torch.from_numpy(readers.read_image(path, info["channels"], info["intensity"]))
    size = info["image_size"]
    if list(image.shape[1:]) != size:
        image = F.interpolate(image[None], size=size, mode="bilinear", antialias=True)[0]
    return normalise(image, info["mean"], info["std"])
