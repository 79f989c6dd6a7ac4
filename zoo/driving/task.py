"""The driving task on the shared trainer: road-user detection (the default) and road-scene segmentation.

    python -m zoo.train --task driving                                  # FCOS on the embedded road scenes, CPU
    python -m zoo.train --task driving --model lraspp_mobilenet_v3      # segmentation of the same scenes
    python -m zoo.train --task driving --dataset kitti data.args.root=/data/kitti trainer.device=cuda

One task, two problems: each model names its problem in the index, and the dataset must serve that problem. torchvision detectors return a dict of losses in training mode and detections in evaluation
mode; the trainer calls ``model.eval()`` before ``eval_step``, so the validation loss is computed in training mode
under no_grad with every normalisation and dropout layer kept in evaluation mode (running statistics, no
updates) and the random proposal sampling of two-stage detectors seeded: the same loss as in training, measured
on held-out images, and the same number on every call.

Targets carry ``iscrowd``, 1 for the regions the upstream evaluation ignores (KITTI DontCare, COCO crowds, VOC
difficult objects). The detectors cannot ignore a region, so their losses, in training and validation, see only the
other boxes; the box AP and the report's curves see all of them, and detections inside an ignore region count
neither as true nor as false positives.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection

from zoo import registry
from zoo.driving import draw
from zoo.driving.datasets import DrivingSplit, read_rgb
from zoo.driving.formats import IGNORE_INDEX
from zoo.driving.metrics import DetectionAP, SegmentationScores, coco_backend
from zoo.driving.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    DetectionTransform,
    SegmentationTransform,
    collate_detection,
    objects_only,
)
from zoo.errors import ConfigError, ZooError
from zoo.problems.segmentation import write_index_mask
from zoo.task import StepOutput, Task, TaskData, call_with_args, evaluated_split


@dataclass
class DrivingOptions:
    """``task_args`` of both problems."""

    hflip: bool = True  # random horizontal flips
    scale_range: list[float] = field(default_factory=lambda: [1.0, 1.0])  # random zoom, frame size kept
    photometric: float = 0.0  # brightness, contrast and saturation jitter strength (0 turns it off)


@dataclass
class SegmentationOptions(DrivingOptions):
    aux_weight: float = 0.5  # weight of the auxiliary head's loss (DeepLabV3, FCN with aux_loss)


@dataclass
class DetectionPredictOptions:
    output_dir: str = field(default="predictions", metadata={"help": "where the drawn images are written"})
    score_threshold: float = field(default=0.4, metadata={"help": "detections below this score are left out"})


@dataclass
class SegmentationPredictOptions:
    output_dir: str = field(default="predictions", metadata={"help": "where masks and overlays are written"})
    alpha: float = field(default=0.5, metadata={"help": "opacity of the mask over the image"})


class _Driving(Task):
    problem = ""
    monitor_mode = "max"

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded = {split: self._load(split) for split in splits}
        evaluated = evaluated_split(loaded)
        ref = evaluated if evaluated is not None else loaded["train"]
        info: dict[str, Any] = {"problem": self.problem, "classes": list(ref.classes),
                                "image_size": list(ref.image_size) if ref.image_size else None}
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info={**info, **self.extra_info(ref)},
            **self.pipelines(),
        )

    def _load(self, split: str) -> DrivingSplit:
        entry = self.entry.dataset(self.config.data.dataset)
        loader = registry.load_object(entry.loader)
        return call_with_args(loader, self.config.data.args, {"split": split, "problem": self.problem}, "data.args",
                              entry.loader)

    def extra_info(self, ref: DrivingSplit) -> dict[str, Any]:
        return {}

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Street images of the validation split as PNG; ``references.json`` lists each one's boxes, or names its
        reference mask in ``reference/`` (pixel values are class indices, 255 unlabelled)."""
        from zoo import samples

        split = self._load("val")
        paths, references = [], {}
        for index in samples.pick(len(split.dataset), count):
            image, target = split.dataset[index]
            path = samples.write_image(image, directory / samples.file_name(index, "street", ".png"))
            if self.problem == "detection":
                crowd = target.get("iscrowd", torch.zeros_like(target["labels"])).tolist()
                references[path.name] = [
                    {"label": split.classes[label - 1], "box": [round(v, 1) for v in box]}
                    for label, box, ignored in zip(target["labels"].tolist(), target["boxes"].tolist(), crowd)
                    if not ignored  # ignore regions (KITTI DontCare, COCO crowds) are not objects
                ]
            else:
                mask_path = directory / "reference" / samples.file_name(index, "mask", ".png")
                mask_path.parent.mkdir(exist_ok=True)
                samples.write_image(target.to(torch.uint8), mask_path)
                references[path.name] = {"mask": f"reference/{mask_path.name}"}
            paths.append(path)
        samples.write_references(directory, references)
        return paths

    def pipelines(self) -> dict[str, Any]:
        raise NotImplementedError

class Detection(_Driving):
    problem = "detection"
    monitor = "map_50"
    Options = DrivingOptions
    PredictOptions = DetectionPredictOptions

    def pipelines(self) -> dict[str, Any]:
        o = self.options
        return {"collate": collate_detection, "eval_transform": DetectionTransform(),
                "train_transform": DetectionTransform(o.hflip, tuple(o.scale_range), o.photometric)}

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_classes": len(info["classes"]) + 1}  # label 0 is the background

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        return MetricCollection({"ap": DetectionAP(info["classes"])}, compute_groups=False)

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, targets = batch
        losses = model(images, objects_only(targets))
        return StepOutput(sum(losses.values()), len(images), {k: v.detach() for k, v in losses.items()})

    def eval_step(self, model: nn.Module, batch: Any, metrics: MetricCollection) -> StepOutput:
        images, targets = batch
        detections = model(images)
        metrics.update([{k: v.float() if k != "labels" else v for k, v in d.items()} for d in detections], targets)
        with _loss_mode(model), torch.random.fork_rng(devices=_devices(images)):
            torch.manual_seed(0)
            losses = model(images, objects_only(targets))
        return StepOutput(sum(losses.values()), len(images))

    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
        options: DetectionPredictOptions | None = None,
    ) -> list[dict[str, Any]]:
        """Detections per image file as JSON-ready dicts; each image is drawn with its boxes into ``output_dir``."""
        o = options or DetectionPredictOptions()
        classes, results = info["classes"], []
        model.eval()
        for path in inputs:
            image = _read(path)
            found = model([image.to(device).float() / 255])[0]
            keep = found["scores"] >= o.score_threshold
            boxes, scores = found["boxes"][keep].cpu(), found["scores"][keep].cpu().tolist()
            names = [classes[i - 1] if 1 <= i <= len(classes) else str(i) for i in found["labels"][keep].tolist()]
            drawn = draw.draw_detections(image, boxes, names, scores)
            output = draw.save_png(drawn, Path(o.output_dir) / f"{Path(path).stem}_detections.png")
            results.append({
                "input": str(path), "output": str(output),
                "detections": [{"label": n, "score": round(s, 4), "box": [round(v, 1) for v in b]}
                               for n, s, b in zip(names, scores, boxes.tolist())],
            })
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return json.dumps(prediction)

    def report(self, model: nn.Module, batches: Any, info: dict[str, Any], directory: Path) -> list[Path]:
        """Precision-recall curves at IoU 0.5 per class (ignore regions ignored, as in the metrics), and the first
        images with their detections drawn."""
        from torchmetrics.detection import MeanAveragePrecision

        from zoo import plots

        classes = info["classes"]
        ap = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True, extended_summary=True,
                                  backend=coco_backend())
        drawn: list[torch.Tensor] = []
        for images, targets in batches:
            detections = model(images)
            ap.update([{k: v.float().cpu() if k != "labels" else v.cpu() for k, v in d.items()} for d in detections],
                      [{k: v.cpu() for k, v in t.items()} for t in targets])
            for image, found in zip(images, detections):
                if len(drawn) < REPORT_SAMPLES:
                    keep = found["scores"] >= REPORT_SCORE
                    names = [classes[i - 1] for i in found["labels"][keep].tolist()]
                    picture = (image.float().cpu().clamp(0, 1) * 255).to(torch.uint8)
                    drawn.append(draw.draw_detections(picture, found["boxes"][keep].cpu(), names,
                                                      found["scores"][keep].cpu().tolist()))
        result = ap.compute()
        recall = torch.linspace(0, 1, result["precision"].shape[1])
        with plots.figure(directory / "pr_curves.png", "precision-recall at IoU 0.5", figsize=(7, 5)) as fig:
            axis = fig.add_subplot()
            for k, label in enumerate(result["classes"].reshape(-1).tolist()):
                precision = result["precision"][0, :, k, 0, -1]
                if 1 <= label <= len(classes) and (precision > -1).any():
                    axis.plot(recall, precision.clamp(min=0), label=f"{classes[label - 1]} "
                              f"(AP {float(precision[precision > -1].mean()):.2f})")
            axis.set_xlabel("recall")
            axis.set_ylabel("precision")
            axis.set_xlim(0, 1)
            axis.set_ylim(0, 1.02)
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
        samples = plots.image_grid(drawn, [f"image {i}" for i in range(len(drawn))], directory / "samples.png",
                                   f"detections scored >= {REPORT_SCORE}", columns=4)
        return [directory / "pr_curves.png", samples]


REPORT_SAMPLES = 8  # images drawn by report
REPORT_SCORE = 0.3  # detections drawn by report


class Segmentation(_Driving):
    problem = "segmentation"
    monitor = "miou"
    Options = SegmentationOptions
    PredictOptions = SegmentationPredictOptions

    def extra_info(self, ref: DrivingSplit) -> dict[str, Any]:
        if ref.image_size is None:
            raise ConfigError(f"segmentation needs images of one size; dataset {self.config.data.dataset!r} has none")
        return {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "ignore_index": IGNORE_INDEX}

    def pipelines(self) -> dict[str, Any]:
        o = self.options
        return {"eval_transform": SegmentationTransform(),
                "train_transform": SegmentationTransform(o.hflip, tuple(o.scale_range), o.photometric)}

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
                if len(pictures) >= 3 * REPORT_SAMPLES // 2:
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
    if not Path(path).is_file():
        raise ZooError(f"image {path!r} does not exist")
    try:
        return read_rgb(path)
    except OSError as error:
        raise ZooError(f"{path} is not a readable image: {error}") from error


def _devices(images: Sequence[torch.Tensor]) -> list[torch.device]:
    return [images[0].device] if images and images[0].device.type == "cuda" else []


@contextlib.contextmanager
def _loss_mode(model: nn.Module) -> Iterator[None]:
    """Training mode, so that torchvision detectors return their losses, with normalisation and dropout layers
    left in evaluation mode: running statistics are used and not updated. Every module's mode comes back after."""
    modes = {m: m.training for m in model.modules()}
    model.train()
    for module in model.modules():
        if isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.Dropout)):
            module.eval()
    try:
        yield
    finally:
        for module, mode in modes.items():
            module.train(mode)
