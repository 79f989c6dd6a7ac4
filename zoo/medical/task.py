"""Medical imaging on the shared trainer: diagnosis (classification) or segmentation, decided by the model.

    python -m zoo.train --task medical                                  # ResNet-18 diagnosis on phantom scans
    python -m zoo.train --task medical --model unet                     # U-Net lesion/organ segmentation
    python -m zoo.train --task medical --dataset pneumoniamnist trainer.device=cuda
    python -m zoo predict --checkpoint RUN/checkpoints/best scan.png               # class probabilities
    python -m zoo predict --checkpoint RUN/checkpoints/best scan.png --output-dir out  # mask + overlay PNGs

A classifier (resnet18, resnet50, densenet121) trains on a dataset's ``label``; a segmenter (unet, monai_unet) on its
``mask``; the phantom set has both. Which models segment is listed in ``zoo/medical/index.py`` (``PROBLEMS``), and
the problem is saved in each checkpoint's info.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo.errors import ConfigError
from zoo.medical.classification import Classification
from zoo.medical.data import MedicalSplit
from zoo.medical.segmentation import Segmentation
from zoo.task import StepOutput, Task, TaskData, evaluated_split

class MedicalImaging(Task):
    """What both medical problems share; a subclass names its problem's logic (``Problem``)."""

    monitor_mode = "max"
    Problem: type = Classification

    def __init__(self, config: Any):
        self.problem = self.Problem()
        # task_args and predict options are those of the run's problem, so a misplaced option is named as such.
        self.Options, self.PredictOptions = self.problem.Options, self.problem.PredictOptions
        super().__init__(config)
        self.problem.options = self.options
        self.monitor = self.problem.monitor

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: dict[str, MedicalSplit] = {split: self.load_split(split) for split in splits}
        reference = next(iter(loaded.values()))
        self._check_dataset(reference)
        info = {"problem": self.problem.name, **self.problem.info(reference)}
        saved = self.saved_info
        if saved is not None and saved.get("classes") != info["classes"]:
            raise ConfigError(f"the checkpoint knows classes {saved.get('classes')}, dataset "
                              f"{self.config.data.dataset!r} has {info['classes']}: evaluate on data with its classes")
        train = loaded["train"].dataset if "train" in loaded else None
        evaluated = evaluated_split(loaded)
        val = evaluated.dataset if evaluated is not None else None
        return TaskData(
            train=train, val=val, info=info, collate=self.problem.collate,
            train_transform=self.problem.transform(info, train=True),
            eval_transform=self.problem.transform(info, train=False),
        )

    def _check_dataset(self, split: MedicalSplit) -> None:
        model, dataset = self.config.model.name, self.config.data.dataset
        has = split.classes is not None if self.problem.name == "classification" else split.mask_classes is not None
        if has:
            return
        fitting = [m for m in self.entry.models.values() if m.problem != self.problem.name]
        fitting = [m.name for m in fitting]
        what = "diagnosis labels" if self.problem.name == "classification" else "masks"
        raise ConfigError(
            f"dataset {dataset!r} has no {what}, which model {model!r} ({self.problem.name}) trains on: choose a model "
            f"for its targets (--model {' or '.join(fitting)}) or a dataset with {what}"
        )

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return self.problem.model_defaults(info)

    def build_model(self, info: dict[str, Any]) -> nn.Module:
        if info.get("problem", self.problem.name) != self.problem.name:
            raise ConfigError(f"the data was prepared for {info['problem']}, model {self.config.model.name!r} does "
                              f"{self.problem.name}")
        model = super().build_model(info)
        self.problem.check_model(model, info)
        return model

    def build_metrics(self, info: dict[str, Any]) -> Any:
        return self.problem.metrics(info)

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        return self.problem.train_step(model, batch)

    def eval_step(self, model: nn.Module, batch: Any, metrics: Any) -> StepOutput:
        return self.problem.eval_step(model, batch, metrics)

    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
        options: Any = None,
    ) -> list[dict[str, Any]]:
        if not inputs:
            raise ConfigError("predict needs at least one INPUT: an image file (PNG, JPEG, DICOM, NIfTI) or, for "
                              "segmentation, a NIfTI volume or a DICOM series folder")
        model.eval()
        return self.problem.predict(model, list(inputs), info, device, options)

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Scans of the validation split as 8-bit PNG, a few of each diagnosis; for segmentation, the reference
        masks go in ``reference/`` (pixel values are class indices) and are named in ``references.json``."""
        from zoo import samples
        from zoo.medical import overlay

        split = self.load_split("val")
        if split.spatial_dims != 2:
            raise ConfigError(f"dataset {self.config.data.dataset!r} holds volumes; sample files are 2D images: "
                              "predict reads NIfTI volumes and DICOM series folders of your own")
        dataset, classes = split.dataset, split.classes
        single_label = self.problem.name == "classification" and not split.multi_label
        label_of = (lambda i: int(dataset[i]["label"])) if single_label else None
        paths, references = [], {}
        for index in samples.pick(len(dataset), count, label_of):
            item = dataset[index]
            if self.problem.name == "classification":
                label = item["label"]
                name = (classes[int(label)] if single_label
                        else "+".join(c for c, on in zip(classes, label.tolist()) if on) or "none")
                path = samples.write_image(item["image"], directory / samples.file_name(index, name, ".png"))
                references[path.name] = name
            else:
                path = samples.write_image(item["image"], directory / samples.file_name(index, "scan", ".png"))
                mask = item["mask"].numpy()
                mask_path = directory / "reference" / samples.file_name(index, "mask", ".png")
                mask_path.parent.mkdir(exist_ok=True)
                overlay.write_mask(mask_path, mask)
                counts = np.bincount(mask.ravel(), minlength=len(split.mask_classes))
                references[path.name] = {"mask": f"reference/{mask_path.name}",
                                         "pixels": {c: int(n) for c, n in zip(split.mask_classes[1:], counts[1:])}}
            paths.append(path)
        samples.write_references(directory, references)
        return paths

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return self.problem.format_prediction(prediction)

    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """Classification: the confusion matrix and captioned samples; segmentation: predicted and reference
        overlays side by side."""
        return self.problem.report(model, batches, info, directory)


class Diagnosis(MedicalImaging):
    Problem = Classification


class LesionSegmentation(MedicalImaging):
    Problem = Segmentation
