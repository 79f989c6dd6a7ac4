"""The driving task on the shared trainer: road-user detection (the default) and road-scene segmentation.

    python -m zoo.train --task driving                                  # FCOS on the embedded road scenes, CPU
    python -m zoo.train --task driving --model lraspp_mobilenet_v3      # segmentation of the same scenes
    python -m zoo.train --task driving --dataset aerial_scenes          # small objects seen from a drone
    python -m zoo.train --task driving --dataset kitti data.args.root=/data/kitti trainer.device=cuda

One task, two problems: each model names its problem in the index, and the dataset must serve that problem.
Detection is the shared problem (zoo.problems.detection.task, also vision's), drawn in driving's colours;
segmentation is driving's own here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection

from zoo import registry
from zoo.driving import draw
from zoo.driving.datasets import DrivingSplit
from zoo.driving.formats import IGNORE_INDEX
from zoo.driving.metrics import SegmentationScores
from zoo.driving.transforms import IMAGENET_MEAN, IMAGENET_STD, SegmentationTransform
from zoo.errors import ConfigError
from zoo.problems.detection import task as detection
from zoo.problems.detection.datasets import read_rgb
from zoo.problems.segmentation import write_index_mask
from zoo.task import StepOutput, Task, TaskData, call_with_args, evaluated_split


class Detection(detection.Detection):
    """The shared detection problem, boxes drawn in Cityscapes' colours, samples named ``street``."""

    colours = staticmethod(draw.colour_of)
    sample_stem = "street"


@dataclass
class SegmentationOptions:
    """``task_args`` of segmentation."""

    hflip: bool = True  # random horizontal flips
    scale_range: list[float] = field(default_factory=lambda: [1.0, 1.0])  # random zoom, frame size kept
    photometric: float = 0.0  # brightness, contrast and saturation jitter strength (0 turns it off)
    aux_weight: float = 0.5  # weight of the auxiliary head's loss (DeepLabV3, FCN with aux_loss)


@dataclass
class SegmentationPredictOptions:
    output_dir: str = field(default="predictions", metadata={"help": "where masks and overlays are written"})
    alpha: float = field(default=0.5, metadata={"help": "opacity of the mask over the image"})


class Segmentation(Task):
    monitor = "miou"
    monitor_mode = "max"
    Options = SegmentationOptions
    PredictOptions = SegmentationPredictOptions

    def _load(self, split: str) -> DrivingSplit:
        entry = self.entry.dataset(self.config.data.dataset)
        loader = registry.load_object(entry.loader)
        return call_with_args(loader, self.config.data.args, {"split": split, "problem": "segmentation"},
                              "data.args", entry.loader)

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded = {split: self._load(split) for split in splits}
        evaluated = evaluated_split(loaded)
        ref = evaluated if evaluated is not None else loaded["train"]
        if ref.image_size is None:
            raise ConfigError(f"segmentation needs images of one size; dataset {self.config.data.dataset!r} has none")
        info: dict[str, Any] = {"problem": "segmentation", "classes": list(ref.classes),
                                "image_size": list(ref.image_size), "mean": list(IMAGENET_MEAN),
                                "std": list(IMAGENET_STD), "ignore_index": IGNORE_INDEX}
        o = self.options
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info=info,
            eval_transform=SegmentationTransform(),
            train_transform=SegmentationTransform(o.hflip, tuple(o.scale_range), o.photometric),
        )

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Street images of the validation split as PNG; ``references.json`` names each one's reference mask in
        ``reference/`` (pixel values are class indices, 255 unlabelled)."""
        from zoo import samples

        split = self._load("val")
        paths, references = [], {}
        for index in samples.pick(len(split.dataset), count):
            image, target = split.dataset[index]
            path = samples.write_image(image, directory / samples.file_name(index, "street", ".png"))
            mask_path = directory / "reference" / samples.file_name(index, "mask", ".png")
            mask_path.parent.mkdir(exist_ok=True)
            samples.write_image(target.to(torch.uint8), mask_path)
            references[path.name] = {"mask": f"reference/{mask_path.name}"}
            paths.append(path)
        samples.write_references(directory, references)
        return paths

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_classes": len(info["classes"])}

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        return MetricCollection({"seg": SegmentationScores(info["classes"], info["ignore_index"])})

    def _loss(self, outputs: dict[str, torch.Tensor], masks: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(outputs["out"].float(), masks, ignore_index=IGNORE_INDEX)
        if "aux" in outputs:
            loss = loss + self.options.aux_weight * F.cross_entropy(outputs["aux"].float(), masks,
                                                                    ignore_index=IGNORE_INDEX)
        return loss

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, masks = batch
        return StepOutput(self._loss(model(images), masks), images.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, metrics: MetricCollection) -> StepOutput:
        images, masks = batch
        outputs = model(images)
        metrics.update(outputs["out"].argmax(1), masks)
        return StepOutput(self._loss(outputs, masks), images.shape[0])

    def report(self, model: nn.Module, batches: Any, info: dict[str, Any], directory: Path) -> list[Path]:
        """The first images beside their reference and predicted masks, as overlays."""
        from zoo import plots

        classes, pictures, captions = info["classes"], [], []
        mean = torch.tensor(info["mean"]).view(-1, 1, 1)
        std = torch.tensor(info["std"]).view(-1, 1, 1)
        for images, masks in batches:
            predicted = model(images)["out"].argmax(1).cpu()
            for image, mask, guess in zip(images.float().cpu(), masks.cpu(), predicted):
                if len(pictures) >= 3 * detection.REPORT_SAMPLES // 2:
                    break
                picture = ((image * std + mean).clamp(0, 1) * 255).to(torch.uint8)
                pictures += [picture, draw.overlay(picture, draw.colour_mask(mask, classes, info["ignore_index"])),
                             draw.overlay(picture, draw.colour_mask(guess, classes))]
                captions += ["image", "reference", "predicted"]
        return [plots.image_grid(pictures, captions, directory / "samples.png",
                                 "reference and predicted masks", columns=6)]

    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
        options: SegmentationPredictOptions | None = None,
    ) -> list[dict[str, Any]]:
        """A colour mask and an overlay per image file, at the file's own size, and the share of each class."""
        o = options or SegmentationPredictOptions()
        classes, (height, width) = info["classes"], info["image_size"]
        mean, std = torch.tensor(info["mean"]).view(3, 1, 1), torch.tensor(info["std"]).view(3, 1, 1)
        model.eval()
        results = []
        for path in inputs:
            image = _read(path)
            x = F.interpolate(image[None].float() / 255, size=(height, width), mode="bilinear", align_corners=False)
            logits = model(((x[0] - mean) / std)[None].to(device))["out"].float()
            logits = F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
            mask = logits.argmax(1)[0].cpu()
            coloured = draw.colour_mask(mask, classes)
            stem = Path(o.output_dir) / Path(path).stem
            counts = torch.bincount(mask.flatten(), minlength=len(classes)).tolist()
            shares = {c: round(n / mask.numel(), 4) for c, n in zip(classes, counts) if n}
            results.append({
                "input": str(path),
                # class indices per pixel, in a palette of the class colours: for programs and for eyes alike
                "mask": str(write_index_mask(f"{stem}_mask.png", mask.numpy(),
                                             [draw.colour_of(c) for c in classes], background=None)),
                "overlay": str(draw.save_png(draw.overlay(image, coloured, o.alpha), f"{stem}_overlay.png")),
                "classes": dict(sorted(shares.items(), key=lambda kv: -kv[1])),
            })
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return json.dumps(prediction)


def _read(path: str) -> torch.Tensor:
    return read_rgb(path)  # a missing, foreign or oversized file fails in one line (zoo.inputs)
