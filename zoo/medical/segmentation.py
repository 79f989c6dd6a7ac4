"""Segmentation: train on random patches with Dice + cross-entropy, evaluate and predict whole images (and volumes)
with sliding-window inference, score Dice and IoU per class, write masks and overlays."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import default_collate

from zoo.errors import ConfigError, ZooError
from zoo.medical import metrics, overlay, readers
from zoo.medical.data import MedicalSplit, normalise
from zoo.medical.inference import sliding_window
from zoo.medical.losses import dice_ce_loss
from zoo.medical.transforms import SegmentItem
from zoo.task import StepOutput


@dataclass
class SegmentationOptions:
    patch_size: list[int] = field(default_factory=lambda: [64])  # training patch and inference window; one side
    # for all axes, or one per axis
    pos_fraction: float = 0.5  # share of training patches centred on a foreground class
    dice_weight: float = 1.0
    ce_weight: float = 1.0
    batch_dice: bool = True  # Dice over the whole batch per class, rather than per image then averaged
    overlap: float = 0.5  # of neighbouring sliding windows
    blend: Literal["gaussian", "constant"] = "gaussian"
    window_batch: int = 8  # windows per forward pass in sliding-window inference
    hflip: bool = False
    vflip: bool = False


@dataclass
class SegmentationPredictOptions:
    output_dir: str = field(default="predictions", metadata={"help": "folder for the masks and overlays"})
    overlay: bool = field(default=True, metadata={"help": "also write an overlay PNG a person can look at"})


class Segmentation:
    name = "segmentation"
    Options = SegmentationOptions
    PredictOptions = SegmentationPredictOptions
    monitor = "dice"
    options: SegmentationOptions

    def patch(self, dims: int) -> list[int]:
        """``task_args.patch_size`` with one side per axis."""
        sides = list(self.options.patch_size)
        patch = sides * dims if len(sides) == 1 else sides
        if len(patch) != dims or any(p < 1 for p in patch):
            raise ConfigError(f"task_args.patch_size must give one side or {dims} sides, got {sides}")
        return patch

    def info(self, split: MedicalSplit) -> dict[str, Any]:
        o = self.options
        patch = self.patch(split.spatial_dims)
        if o.dice_weight <= 0 and o.ce_weight <= 0:
            raise ConfigError("task_args.dice_weight and task_args.ce_weight cannot both be 0")
        return {
            "dataset": split.name, "classes": list(split.mask_classes or []),
            "num_classes": len(split.mask_classes or []),
            "channels": split.channels, "spatial_dims": split.spatial_dims, "image_size": split.image_size,
            "resize": split.resize, "patch_size": patch, "mean": list(split.mean), "std": list(split.std),
            "intensity": split.intensity,
        }

    def transform(self, info: dict[str, Any], train: bool) -> SegmentItem:
        o = self.options
        return SegmentItem(info["mean"], info["std"], train, info["patch_size"], o.pos_fraction, o.hflip, o.vflip)

    @staticmethod
    def collate(items: list[tuple[Tensor, Tensor]]) -> Any:
        shapes = {tuple(image.shape) for image, _ in items}
        if len(shapes) > 1:
            raise ConfigError(f"a batch mixes image sizes {sorted(shapes)[:3]}: set data.eval_batch_size=1, or "
                              "data.args.image_size to resize them to one size")
        return default_collate(items)

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"in_channels": info["channels"], "out_channels": info["num_classes"],
                "spatial_dims": info["spatial_dims"]}

    def check_model(self, model: nn.Module, info: dict[str, Any]) -> None:
        divisor = getattr(model, "size_divisor", 1)
        if any(p % divisor for p in info["patch_size"]):
            raise ConfigError(f"task_args.patch_size {info['patch_size']} must be divisible by {divisor} for this "
                              "model (2 per level below its first)")

    def metrics(self, info: dict[str, Any]) -> Any:
        return metrics.segmentation_metrics(info["classes"])

    def loss(self, logits: Tensor, masks: Tensor) -> Tensor:
        o = self.options
        return dice_ce_loss(logits, masks, o.dice_weight, o.ce_weight, batch=o.batch_dice)

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, masks = batch
        return StepOutput(self.loss(model(images), masks), masks.shape[0])

    def infer(self, model: nn.Module, images: Tensor, patch: list[int]) -> Tensor:
        o = self.options
        return sliding_window(model, images, patch, o.overlap, o.blend, o.window_batch)

    def eval_step(self, model: nn.Module, batch: Any, collection: Any) -> StepOutput:
        images, masks = batch
        logits = self.infer(model, images, self.patch(images.ndim - 2))
        collection.update(logits.argmax(dim=1), masks)
        return StepOutput(self.loss(logits, masks), masks.shape[0])

    def predict(
        self, model: nn.Module, inputs: list[str], info: dict[str, Any], device: torch.device,
        options: SegmentationPredictOptions,
    ) -> list[dict[str, Any]]:
        folder = Path(options.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return [self._predict_one(model, path, info, device, folder, options.overlay) for path in inputs]

    def _predict_one(
        self, model: nn.Module, path: str, info: dict[str, Any], device: torch.device, folder: Path, with_overlay: bool
    ) -> dict[str, Any]:
        volume = readers.is_volume_path(path) and _holds_volume(path)
        if info["spatial_dims"] == 3 and not volume:
            raise ZooError(f"{path} is a 2D image, but this checkpoint segments volumes: pass a NIfTI volume or a "
                           "DICOM series folder")
        stem = _stem(path)
        if volume:
            raw, header = readers.read_volume(path)
            channels = raw if raw.ndim == 4 else raw[None]
            image = torch.from_numpy(np.stack([readers.normalise(c, info["intensity"], header) for c in channels]))
            if info["spatial_dims"] == 2:  # slice by slice: the slices form the batch
                mask = self._segment(model, image.transpose(0, 1), info, device)
            else:
                mask = self._segment(model, image[None], info, device)[0]
            mask_path = folder / f"{stem}_mask.nii.gz"
            readers.write_nifti(mask_path, mask.numpy().astype(np.uint8), header.get("affine"))
            shown = int((mask > 0).flatten(1).sum(1).argmax())  # the slice with the most foreground
            picture, picture_mask = image[:, shown].numpy(), mask[shown].numpy()
        else:
            image = torch.from_numpy(readers.read_image(path, info["channels"], info["intensity"]))
            mask = self._segment(model, image[None], info, device)[0]
            mask_path = folder / f"{stem}_mask.png"
            overlay.write_mask(mask_path, mask.numpy())
            picture, picture_mask = image.numpy(), mask.numpy()
        record: dict[str, Any] = {"input": str(path), "mask": str(mask_path)}
        if with_overlay:
            overlay_path = folder / f"{stem}_overlay.png"
            overlay.write_overlay(overlay_path, picture, picture_mask)
            record["overlay"] = str(overlay_path)
        counts = torch.bincount(mask.flatten(), minlength=info["num_classes"]).tolist()
        record["pixels"] = {name: int(c) for name, c in zip(info["classes"][1:], counts[1:])}
        return record

    def _segment(self, model: nn.Module, images: Tensor, info: dict[str, Any], device: torch.device) -> Tensor:
        """Class indices (B, *S) at the input's own size, for images (B, C, *S) in [0, 1] (not yet normalised)."""
        size = tuple(images.shape[2:])
        resize = info.get("resize")
        if resize and list(size[-2:]) != list(resize):
            images = _resize_in_plane(images, resize)
        masks = []
        for start in range(0, len(images), 16):
            chunk = torch.stack([normalise(i, info["mean"], info["std"]) for i in images[start : start + 16]])
            logits = self.infer(model, chunk.to(device), info["patch_size"])
            if tuple(logits.shape[2:]) != size:
                logits = F.interpolate(logits, size=size, mode="bilinear" if len(size) == 2 else "trilinear")
            masks.append(logits.argmax(dim=1).cpu())
        return torch.cat(masks)

    def report(self, model: nn.Module, batches: Any, info: dict[str, Any], directory: Path) -> list[Path]:
        from zoo import plots

        pictures: list[np.ndarray] = []
        captions: list[str] = []
        for images, masks in batches:
            predicted = self.infer(model, images, info["patch_size"]).argmax(dim=1).cpu()
            for image, guess, truth in zip(images.float().cpu(), predicted, masks.cpu()):
                if len(pictures) >= 2 * PAIRS_SHOWN:
                    break
                if truth.ndim == 3:  # a volume: its slice with the most reference foreground
                    index = int((truth > 0).flatten(1).sum(1).argmax())
                    image, guess, truth = image[:, index], guess[index], truth[index]
                dice, _, present = metrics.dice_iou(guess[None], truth[None], info["num_classes"])
                score = f"Dice {float(dice[present].mean()):.2f}" if present.any() else "nothing to find"
                picture = image.numpy()
                pictures += [overlay.overlay(picture, guess.numpy()), overlay.overlay(picture, truth.numpy())]
                captions += [f"predicted ({score})", "reference"]
        return [plots.image_grid(pictures, captions, directory / "overlays.png",
                                 "predicted and reference masks on the first scans")]

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        found = ", ".join(f"{name} {count} px" for name, count in prediction["pixels"].items())
        shown = f", overlay {prediction['overlay']}" if "overlay" in prediction else ""
        return f"{prediction['input']}: mask {prediction['mask']}{shown} ({found})"


PAIRS_SHOWN = 8


def _stem(path: str) -> str:
    name = Path(path).name
    kind = readers.suffix(path)
    return name[: -len(kind)] if kind and not Path(path).is_dir() else name


def _resize_in_plane(images: Tensor, size: list[int]) -> Tensor:
    """Resize the last two axes of (B, C, H, W) or (B, C, D, H, W) images."""
    if images.ndim == 4:
        return F.interpolate(images, size=size, mode="bilinear", antialias=True)
    b, c, d = images.shape[:3]
    flat = images.permute(0, 2, 1, 3, 4).reshape(b * d, c, *images.shape[3:])
    flat = F.interpolate(flat, size=size, mode="bilinear", antialias=True)
    return flat.view(b, d, c, *size).permute(0, 2, 1, 3, 4)


def _holds_volume(path: str) -> bool:
    """Folders are DICOM series; a NIfTI file is a volume unless it holds a single slice."""
    if Path(path).is_dir():
        return True
    raw, _ = readers.read_nifti(path)
    return raw.squeeze().ndim >= 3
