"""Image classification on the shared trainer: cross-entropy, top-1/top-5 accuracy, top-k predictions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from zoo.problems import classification
from zoo.problems.classification import classification_loss
from zoo.task import StepOutput, Task, TaskData, evaluated_split
from zoo.vision import transforms


@dataclass
class VisionOptions:
    label_smoothing: float = 0.0
    crop_padding: int = 4  # random crop after padding by this many pixels; 0 turns it off
    hflip: bool = True  # random horizontal flips
    top_k: int = 5  # labels shown per image by predict


class ImageClassification(Task):
    monitor = "top1"
    monitor_mode = "max"
    Options = VisionOptions

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded = {split: self.load_split(split) for split in splits}
        evaluated = evaluated_split(loaded)
        ref = evaluated if evaluated is not None else loaded["train"]
        info = {
            "classes": list(ref.classes),
            "num_classes": len(ref.classes),
            "channels": ref.channels,
            "image_size": ref.image_size,
            "mean": list(ref.mean),
            "std": list(ref.std),
        }
        o = self.options
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info=info,
            train_transform=_on_image(
                transforms.train_transform(ref.image_size, ref.mean, ref.std, o.crop_padding, o.hflip)
            ),
            eval_transform=_on_image(transforms.eval_transform(ref.mean, ref.std)),
            train_batch_transform=transforms.BatchAugment(ref.mean, ref.std, o.crop_padding, o.hflip),
            eval_batch_transform=transforms.BatchNormalize(ref.mean, ref.std),
        )

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_classes": info["num_classes"], "in_channels": info["channels"], "image_size": info["image_size"]}

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        n = info["num_classes"]
        return MetricCollection(
            {
                "top1": MulticlassAccuracy(n, top_k=1, average="micro"),
                "top5": MulticlassAccuracy(n, top_k=min(5, n), average="micro"),
            }
        )

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, labels = batch
        logits = model(images)
        loss = classification_loss(logits, labels, self.options.label_smoothing)
        return StepOutput(loss, labels.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, metrics: MetricCollection) -> StepOutput:
        images, labels = batch
        logits = model(images).float()
        metrics.update(logits, labels)
        return StepOutput(classification_loss(logits, labels), labels.shape[0])

    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device
    ) -> list[dict[str, Any]]:
        prepare = transforms.eval_transform(info["mean"], info["std"])
        images = torch.stack([prepare(transforms.load_image(p, info["channels"], info["image_size"])) for p in inputs])
        model.eval()
        probs = model(images.to(device)).float().softmax(dim=-1).cpu()
        k = min(self.options.top_k, probs.shape[-1])
        top = probs.topk(k, dim=-1)
        classes = info["classes"]
        return [
            {"input": str(path), "top": [{"label": classes[i], "prob": round(float(p), 4)} for p, i in zip(ps, idx)]}
            for path, ps, idx in zip(inputs, top.values.tolist(), top.indices.tolist())
        ]

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        ranked = ", ".join(f"{t['label']} {t['prob']:.3f}" for t in prediction["top"])
        return f"{prediction['input']}: {ranked}"

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """PNG images of the validation split, a few of each class, named after their label."""
        from zoo import samples

        split = self.load_split("val")
        dataset = split.dataset
        labels = getattr(dataset, "labels", None)
        label_of = (lambda i: int(labels[i])) if labels is not None else (lambda i: int(dataset[i][1]))
        paths, references = [], {}
        for index in samples.pick(len(dataset), count, label_of):
            image, label = dataset[index]
            path = directory / samples.file_name(index, split.classes[label], ".png")
            paths.append(samples.write_image(image, path))
            references[path.name] = split.classes[label]
        samples.write_references(directory, references)
        return paths

    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """The confusion matrix of the split, and its first images captioned with prediction and truth."""
        return classification.report(model, batches, info, directory)


class _on_image:
    """Apply an image transform to the image of an ``(image, label)`` item (a class, so workers can pickle it)."""

    def __init__(self, transform: Any):
        self.transform = transform

    def __call__(self, item: tuple[Any, int]) -> tuple[torch.Tensor, int]:
        image, label = item
        return self.transform(image), label
