"""Object detection on the shared trainer, one implementation for every domain that has it (vision, driving).

    python -m zoo.train --task vision --problem detection                # FCOS on the embedded everyday scenes, CPU
    python -m zoo.train --task driving                                   # the same problem on road scenes
    python -m zoo.train --task vision --problem detection --dataset yolo data.args.root=/data/set trainer.device=cuda

A domain brings its models, datasets and colours; the index names this class as its problem's implementation (or a
subclass that sets :attr:`Detection.colours` and :attr:`Detection.sample_stem`). torchvision detectors return a
dict of losses in training mode and detections in evaluation mode; the trainer calls ``model.eval()`` before
``eval_step``, so the validation loss is computed in training mode under no_grad with every normalisation and
dropout layer kept in evaluation mode (running statistics, no updates) and the random proposal sampling of
two-stage detectors seeded: the same loss as in training, measured on held-out images, and the same number on
every call.

Targets carry ``iscrowd``, 1 for the regions the upstream evaluation ignores (COCO crowds, VOC difficult objects,
KITTI DontCare, VisDrone ignored regions). The detectors cannot ignore a region, so their losses, in training and
validation, see only the other boxes; the box AP and the report's curves see all of them, and detections inside an
ignore region count neither as true nor as false positives.

Sliced inference (``task_args.slice_size``; ``zoo predict --slice-size``) runs the model on overlapping tiles as
well as on the whole image and merges the boxes with class-wise NMS (see :mod:`zoo.problems.detection.slicing`);
evaluation then reports both, the sliced figures prefixed ``sliced_``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics import MetricCollection

from zoo import registry
from zoo.problems.detection import draw
from zoo.problems.detection.datasets import read_rgb
from zoo.problems.detection.metrics import DetectionAP, coco_backend
from zoo.problems.detection.slicing import SliceSettings, sliced_detections
from zoo.problems.detection.transforms import DetectionTransform, collate_detection, objects_only
from zoo.task import StepOutput, Task, TaskData, call_with_args, evaluated_split


@dataclass
class DetectionOptions:
    """``task_args`` of detection."""

    hflip: bool = True  # random horizontal flips
    scale_range: list[float] = field(default_factory=lambda: [1.0, 1.0])  # random zoom, frame size kept
    photometric: float = 0.0  # brightness, contrast and saturation jitter strength (0 turns it off)
    slice_size: int = 0  # tile side in pixels for sliced inference in evaluation and predict; 0 turns it off
    slice_overlap: float = 0.25  # fraction of a tile shared with its neighbour
    slice_nms: float = 0.5  # IoU above which merged boxes of one class are duplicates


@dataclass
class DetectionPredictOptions:
    output_dir: str = field(default="predictions", metadata={"help": "where the drawn images are written"})
    score_threshold: float = field(default=0.4, metadata={"help": "detections below this score are left out"})
    slice_size: int = field(default=-1, metadata={
        "help": "tile side for sliced inference (0 off; -1: the checkpoint's task_args.slice_size)"})


REPORT_SAMPLES = 8  # images drawn by report
REPORT_SCORE = 0.3  # detections drawn by report


class Detection(Task):
    monitor = "map_50"
    monitor_mode = "max"
    Options = DetectionOptions
    PredictOptions = DetectionPredictOptions
    colours: draw.Colours = staticmethod(draw.colour_of)  # a domain's own class colours
    sample_stem = "image"  # zoo samples names its files <index>_<stem>.png

    # -- data ---------------------------------------------------------------------------------------------------
    def load_split(self, split: str) -> Any:
        """The registered loader with ``data.args``; loaders serving several problems also get ``problem``."""
        entry = self.entry.dataset(self.config.data.dataset)
        loader = registry.load_object(entry.loader)
        return call_with_args(loader, self.config.data.args, {"split": split, "problem": self.problem_entry.name},
                              "data.args", entry.loader)

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded = {split: self.load_split(split) for split in splits}
        evaluated = evaluated_split(loaded)
        ref = evaluated if evaluated is not None else loaded["train"]
        size = getattr(ref, "image_size", None)
        info: dict[str, Any] = {"problem": self.problem_entry.name, "classes": list(ref.classes),
                                "image_size": list(size) if size else None}
        o = self.options
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info=info,
            collate=collate_detection,
            eval_transform=DetectionTransform(),
            train_transform=DetectionTransform(o.hflip, tuple(o.scale_range), o.photometric),
        )

    # -- model and metrics ----------------------------------------------------------------------------------------
    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_classes": len(info["classes"]) + 1}  # label 0 is the background

    def slices(self, size: int | None = None) -> SliceSettings | None:
        size = self.options.slice_size if size is None or size < 0 else size
        return SliceSettings(size, self.options.slice_overlap, self.options.slice_nms) if size > 0 else None

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        metrics = {"ap": DetectionAP(info["classes"])}
        if self.slices() is not None:
            metrics["sliced"] = DetectionAP(info["classes"], prefix="sliced_")
        return MetricCollection(metrics, compute_groups=False)

    # -- steps ----------------------------------------------------------------------------------------------------
    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, targets = batch
        losses = model(images, objects_only(targets))
        return StepOutput(sum(losses.values()), len(images), {k: v.detach() for k, v in losses.items()})

    def eval_step(self, model: nn.Module, batch: Any, metrics: MetricCollection) -> StepOutput:
        images, targets = batch
        detections = model(images)
        metrics["ap"].update(_floats(detections), targets)
        settings = self.slices()
        if settings is not None:
            metrics["sliced"].update(_floats(sliced_detections(model, images, settings, detections)), targets)
        with _loss_mode(model), torch.random.fork_rng(devices=_devices(images)):
            torch.manual_seed(0)
            losses = model(images, objects_only(targets))
        return StepOutput(sum(losses.values()), len(images))

    # -- prediction -----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
        options: DetectionPredictOptions | None = None,
    ) -> list[dict[str, Any]]:
        """Detections per image file as JSON-ready dicts; each image is drawn with its boxes into ``output_dir``."""
        o = options or DetectionPredictOptions()
        settings = self.slices(o.slice_size)
        classes, results = info["classes"], []
        model.eval()
        for path in inputs:
            image = _read(path)
            x = [image.to(device).float() / 255]
            found = model(x)[0] if settings is None else sliced_detections(model, x, settings)[0]
            keep = found["scores"] >= o.score_threshold
            boxes, scores = found["boxes"][keep].cpu(), found["scores"][keep].cpu().tolist()
            names = [classes[i - 1] if 1 <= i <= len(classes) else str(i) for i in found["labels"][keep].tolist()]
            drawn = draw.draw_detections(image, boxes, names, scores, colours=self.colours)
            output = draw.save_png(drawn, Path(o.output_dir) / f"{Path(path).stem}_detections.png")
            results.append({
                "input": str(path), "output": str(output),
                "detections": [{"label": n, "score": round(s, 4), "box": [round(v, 1) for v in b]}
                               for n, s, b in zip(names, scores, boxes.tolist())],
            })
            if settings is not None:
                results[-1]["sliced"] = {"slice_size": settings.size, "overlap": settings.overlap}
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return json.dumps(prediction)

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Images of the validation split as PNG; ``references.json`` lists each one's boxes (ignore regions, which
        are not objects, left out)."""
        from zoo import samples

        split = self.load_split("val")
        paths, references = [], {}
        for index in samples.pick(len(split.dataset), count):
            image, target = split.dataset[index]
            path = samples.write_image(image, directory / samples.file_name(index, self.sample_stem, ".png"))
            crowd = target.get("iscrowd", torch.zeros_like(target["labels"])).tolist()
            references[path.name] = [
                {"label": split.classes[label - 1], "box": [round(v, 1) for v in box]}
                for label, box, ignored in zip(target["labels"].tolist(), target["boxes"].tolist(), crowd)
                if not ignored
            ]
            paths.append(path)
        samples.write_references(directory, references)
        return paths

    # -- figures --------------------------------------------------------------------------------------------------
    def report(self, model: nn.Module, batches: Any, info: dict[str, Any], directory: Path) -> list[Path]:
        """Precision-recall curves at IoU 0.5 per class (ignore regions ignored, as in the metrics), and the first
        images with their detections drawn."""
        from torchmetrics.detection import MeanAveragePrecision

        from zoo import plots

        classes = info["classes"]
        ap = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True, extended_summary=True,
                                  backend=coco_backend())
        ap.warn_on_many_detections = False  # scored on COCO's 100 best per image, as DetectionAP says
        drawn: list[torch.Tensor] = []
        for images, targets in batches:
            detections = model(images)
            ap.update([{k: v.cpu() for k, v in d.items()} for d in _floats(detections)],
                      [{k: v.cpu() for k, v in t.items()} for t in targets])
            for image, found in zip(images, detections):
                if len(drawn) < REPORT_SAMPLES:
                    keep = found["scores"] >= REPORT_SCORE
                    names = [classes[i - 1] for i in found["labels"][keep].tolist()]
                    picture = (image.float().cpu().clamp(0, 1) * 255).to(torch.uint8)
                    drawn.append(draw.draw_detections(picture, found["boxes"][keep].cpu(), names,
                                                      found["scores"][keep].cpu().tolist(), colours=self.colours))
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


def _floats(detections: list[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    """Boxes and scores in float32 (bf16 autocast may give lower precision), labels as they are."""
    return [{k: v.float() if k != "labels" else v for k, v in d.items()} for d in detections]


def _read(path: str) -> torch.Tensor:
    return read_rgb(path)  # a missing, foreign or oversized file fails in one line (zoo.inputs)


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
