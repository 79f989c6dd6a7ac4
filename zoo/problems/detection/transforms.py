"""Box-aware augmentation with torchvision transforms v2, and the list collate of detection batches.

Images, boxes (``tv_tensors.BoundingBoxes``) and masks (``tv_tensors.Mask``) go through the same v2 transforms, so
a flip or a zoom moves them together; boxes pushed out of the image are clipped, and those left smaller than two
pixels are dropped with their labels and ``iscrowd`` flags (``SanitizeBoundingBoxes``). Randomness comes from
torch's global generator, which the trainer seeds per (seed, epoch, index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from zoo.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MASK_FILL = 255  # what zooming out pads masks with: the "unlabelled" index of segmentation masks


class RandomRescale(v2.Transform):
    """Zoom by a random factor and keep the image size: resize, then crop (zoom in) or pad (zoom out).

    Scale jitter for models that resize every input to one size themselves (torchvision detectors): a plain
    resize would be undone by the model, while this changes the size of objects relative to the frame.
    """

    def __init__(self, scale_range: Sequence[float], fill: Any = None):
        super().__init__()
        low, high = scale_range
        if not 0 < low <= high:
            raise ConfigError(f"scale_range must be two numbers 0 < low <= high, got {list(scale_range)}")
        self.low, self.high = float(low), float(high)
        self.fill = fill if fill is not None else {tv_tensors.Image: 114, tv_tensors.Mask: MASK_FILL, "others": 0}

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        scale = self.low + float(torch.rand(())) * (self.high - self.low)
        new_h, new_w = max(round(height * scale), 1), max(round(width * scale), 1)
        top = int(torch.randint(0, abs(new_h - height) + 1, ()))
        left = int(torch.randint(0, abs(new_w - width) + 1, ()))
        return {"size": [new_h, new_w], "height": height, "width": width, "top": top, "left": left}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, (tv_tensors.Image, tv_tensors.BoundingBoxes, tv_tensors.Mask)):
            return inpt
        out = F.resize(inpt, params["size"], antialias=True)
        (new_h, new_w), height, width = params["size"], params["height"], params["width"]
        top, left = params["top"], params["left"]
        if new_h >= height and new_w >= width:
            return F.crop(out, top, left, height, width)
        fill = self.fill.get(type(inpt), self.fill.get("others", 0)) if isinstance(self.fill, dict) else self.fill
        if new_h <= height and new_w <= width:
            return F.pad(out, [left, top, width - new_w - left, height - new_h - top], fill=fill)
        out = F.crop(out, 0, 0, min(new_h, height), min(new_w, width))  # mixed: crop the long side, pad the other
        return F.pad(out, [0, 0, width - min(new_w, width), height - min(new_h, height)], fill=fill)


def photometric_steps(strength: float) -> list[v2.Transform]:
    if strength <= 0:
        return []
    return [v2.ColorJitter(brightness=strength, contrast=strength, saturation=strength)]  # hue costs 5x the rest


def _per_box(inputs: tuple[Any, dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``SanitizeBoundingBoxes`` drops along with a box: its label and its ``iscrowd`` flag."""
    target = inputs[1]
    return target["labels"], target["iscrowd"]


class DetectionTransform:
    """``(uint8 image, {"boxes", "labels", "iscrowd"})`` -> ``(float image in [0, 1], the same keys)`` as plain
    tensors; a target without ``iscrowd`` gets zeros (every box an object), so every output carries it.

    A class rather than a closure so that DataLoader workers can pickle it.
    """

    def __init__(self, hflip: bool = False, scale_range: Sequence[float] = (1.0, 1.0), photometric: float = 0.0):
        steps: list[v2.Transform] = []
        if hflip:
            steps.append(v2.RandomHorizontalFlip())
        if tuple(scale_range) != (1.0, 1.0):
            steps.append(RandomRescale(scale_range))
        steps += photometric_steps(photometric)
        steps += [v2.ToDtype(torch.float32, scale=True),
                  v2.SanitizeBoundingBoxes(min_size=2, labels_getter=_per_box)]
        self.pipeline = v2.Compose(steps)

    def __call__(self, item: tuple[torch.Tensor, dict[str, torch.Tensor]]) -> tuple[torch.Tensor, dict[str, Any]]:
        image, target = item
        image = tv_tensors.Image(image)
        boxes = tv_tensors.BoundingBoxes(target["boxes"], format="XYXY", canvas_size=tuple(image.shape[-2:]))
        crowd = target.get("iscrowd")
        crowd = torch.zeros_like(target["labels"]) if crowd is None else crowd
        image, out = self.pipeline(image, {"boxes": boxes, "labels": target["labels"], "iscrowd": crowd})
        return image.as_subclass(torch.Tensor), {"boxes": out["boxes"].as_subclass(torch.Tensor),
                                                 "labels": out["labels"], "iscrowd": out["iscrowd"]}


def collate_detection(batch: list[tuple[torch.Tensor, dict[str, torch.Tensor]]]) -> tuple[list, list]:
    """Images of any size and any number of boxes: a list of images and a list of targets, as torchvision wants."""
    images, targets = zip(*batch)
    return list(images), list(targets)


def objects_only(targets: list[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    """The targets without their ignore regions (``iscrowd`` 1) and without the ``iscrowd`` key: what a torchvision
    detector's loss may see, since it has no notion of a region to ignore and would learn it as an object."""
    out = []
    for target in targets:
        crowd = target.get("iscrowd")
        keep = None if crowd is None else crowd == 0
        out.append({k: v if keep is None else v[keep] for k, v in target.items() if k != "iscrowd"})
    return out
