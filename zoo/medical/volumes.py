"""Volumes in the Medical Segmentation Decathlon layout (Antonelli et al., 2022), as 2D slices or 3D volumes.

    ROOT/dataset.json          {"modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"},
                                "training": [{"image": "./imagesTr/spleen_2.nii.gz",
                                              "label": "./labelsTr/spleen_2.nii.gz"}, ...]}
    ROOT/imagesTr/*.nii.gz     images (a 4D file holds one channel per modality)
    ROOT/labelsTr/*.nii.gz     masks of class indices, the same grid as the image

Without dataset.json, images and labels are paired by file name and the classes are read from the masks. An image
entry may also be a folder holding one DICOM series. The labelled cases are split into train and val by
``val_fraction`` and ``seed`` (the Decathlon's test images have no labels). Volumes are read once and kept in memory,
intensities already mapped (uint8 where they fall in [0, 1]); resample or crop very large sets beforehand.

Intensity ``auto`` picks per modality: CT a soft-tissue window ([-160, 240] HU unless ``window`` is given), MRI a
z-score over the non-zero voxels, anything else the 0.5-99.5 percentile range.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.medical.data import ArrayDataset, MedicalSplit, canonical_split, split_indices
from zoo.medical.readers import intensity_spec, normalise, read_nifti, read_volume

CT_WINDOW = (-160.0, 240.0)
_LAYOUT = ("Expected the Medical Segmentation Decathlon layout: ROOT/dataset.json (optional), ROOT/imagesTr/*.nii.gz "
           "and ROOT/labelsTr/*.nii.gz of the same names.")


def msd(
    split: str,
    root: str | None = None,
    download: bool = False,
    spatial_dims: int = 2,
    intensity: str = "auto",
    window: list[float] | None = None,
    image_size: int | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> MedicalSplit:
    """Labelled cases of a Decathlon-layout folder: axial slices (``spatial_dims=2``) or whole volumes (3).

    ``image_size`` resizes each slice in-plane (volumes keep their slice count) to bound memory and compute.
    """
    split = canonical_split(split, "msd")
    if spatial_dims not in (2, 3):
        raise ConfigError(f"data.args.spatial_dims must be 2 (slices) or 3 (volumes), got {spatial_dims!r}")
    if root is None:
        raise ConfigError(f"dataset 'msd' needs its folder: pass data.args.root=PATH. {_LAYOUT}")
    folder = Path(root).expanduser()
    cases, modality, classes = _describe(folder)
    parts = split_indices(len(cases), val_fraction, seed)
    chosen = [cases[i] for i in parts["train" if split == "train" else "val"]]
    if not chosen:
        raise DatasetNotFoundError(f"{folder} has too few labelled cases for a {split} split ({len(cases)} in all)")
    spec = _resolve_intensity(intensity, window, modality)
    images, masks = _load_cases(tuple(chosen), json.dumps(spec), spatial_dims, image_size)
    channels = images[0].shape[0]
    found = max(int(m.max()) for m in masks) + 1
    shapes = {tuple(m.shape) for m in masks}
    classes = classes or ["background", *(f"class_{k}" for k in range(1, max(found, 2)))]
    if found > len(classes):
        raise DatasetNotFoundError(f"masks in {folder} hold class {found - 1} but dataset.json names {len(classes)} "
                                   "labels")
    zscore = spec["mode"] == "zscore"
    return MedicalSplit(
        dataset=ArrayDataset(images, masks=masks), name="msd", channels=channels, spatial_dims=spatial_dims,
        mask_classes=classes, image_size=list(shapes.pop()) if len(shapes) == 1 else None,
        resize=[image_size, image_size] if image_size is not None else None,
        mean=(0.0 if zscore else 0.5,) * channels, std=(1.0 if zscore else 0.25,) * channels, intensity=spec,
    )


def _describe(folder: Path) -> tuple[list[tuple[str, str]], str, list[str] | None]:
    """(image, label) path pairs, the first modality's name and the class names when dataset.json gives them."""
    meta_file = folder / "dataset.json"
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text())
        cases = [(str(folder / c["image"]), str(folder / c["label"])) for c in meta.get("training", [])]
        modality = str(next(iter(meta.get("modality", {}).values()), ""))
        labels = meta.get("labels", {})
        classes = [str(labels[k]) for k in sorted(labels, key=int)] if labels else None
    else:
        images_at, labels_at = folder / "imagesTr", folder / "labelsTr"
        if not images_at.is_dir() or not labels_at.is_dir():
            raise DatasetNotFoundError(f"{folder} holds neither dataset.json nor imagesTr/ and labelsTr/. {_LAYOUT}")
        cases = [(str(p), str(labels_at / p.name)) for p in sorted(images_at.glob("*.nii*"))
                 if not p.name.startswith(".") and (labels_at / p.name).is_file()]
        modality, classes = "", None
    missing = [p for pair in cases for p in pair if not Path(p).exists()]
    if missing:
        raise DatasetNotFoundError(f"{len(missing)} file(s) listed for {folder} are missing, e.g. {missing[0]}. "
                                   f"{_LAYOUT}")
    if not cases:
        raise DatasetNotFoundError(f"no labelled cases in {folder}. {_LAYOUT}")
    return cases, modality, classes


def _resolve_intensity(mode: str, window: list[float] | None, modality: str) -> dict[str, Any]:
    if mode != "auto":
        return intensity_spec(mode, window)
    kind = modality.strip().upper()
    if kind == "CT":
        return intensity_spec("window", window or list(CT_WINDOW))
    if kind.startswith("MR") or kind in ("T1", "T2", "FLAIR", "ADC", "T1GD", "T2W"):
        return intensity_spec("zscore")
    return intensity_spec("percentile")


@lru_cache(maxsize=4)
def _load_cases(
    cases: tuple[tuple[str, str], ...], spec_json: str, spatial_dims: int, image_size: int | None
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Images (C, *S) and masks (*S) of ``cases``: every axial slice in 2D, every volume in 3D."""
    spec = json.loads(spec_json)
    images: list[torch.Tensor] = []
    masks: list[torch.Tensor] = []
    for image_path, label_path in cases:
        raw, header = read_volume(image_path)
        volume = raw if raw.ndim == 4 else raw[None]  # (C, D, H, W)
        label = read_nifti(label_path)[0]
        if tuple(label.shape) != tuple(volume.shape[1:]):
            raise DatasetNotFoundError(f"{label_path} has shape {label.shape}, its image {image_path} "
                                       f"{volume.shape[1:]}: they must share the grid")
        image = torch.from_numpy(np.stack([normalise(c, spec, header) for c in volume]))
        mask = torch.from_numpy(np.rint(label).astype(np.uint8))
        if image_size is not None:
            image = F.interpolate(image.transpose(0, 1), size=(image_size, image_size), mode="bilinear",
                                  antialias=True).transpose(0, 1)
            mask = F.interpolate(mask[:, None].float(), size=(image_size, image_size), mode="nearest")[:, 0].byte()
        if spec["mode"] != "zscore":
            image = image.mul(255).round_().clamp_(0, 255).to(torch.uint8)
        else:
            image = image.to(torch.float16)
        if spatial_dims == 2:
            images += list(image.transpose(0, 1))
            masks += list(mask)
        else:
            images.append(image)
            masks.append(mask)
    return images, masks
