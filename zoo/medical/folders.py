"""Your own files: images with a labels CSV (diagnosis), and images with masks (segmentation).

Images may be PNG, JPEG, TIFF, DICOM (``.dcm``) or 2D NIfTI; their intensities are mapped by ``data.args.intensity``
(see zoo/medical/readers.py). Files are decoded when an item is read, so folders of any size fit in memory.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from zoo.errors import ConfigError, DatasetNotFoundError, ZooError
from zoo.medical.data import MedicalSplit, canonical_split, split_indices
from zoo.splits import no_split
from zoo.medical.readers import DICOM_SUFFIXES, IMAGE_SUFFIXES, NIFTI_SUFFIXES, intensity_spec, read_image, suffix

_SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                "test": "test", "testing": "test"}
_POSITIVE, _NEGATIVE = {"1", "1.0", "true", "yes"}, {"0", "0.0", "", "-1", "-1.0", "false", "no"}
_CSV_LAYOUT = (
    "Expected: ROOT/labels.csv with a column 'image' (paths relative to ROOT) and either one label column of class "
    "names (multi-class) or several 0/1 columns, one per finding (multi-label); an optional column 'split' holds "
    "train/val/test."
)
_MASK_LAYOUT = (
    "Expected: ROOT/images/<name>.<png|jpg|tif|dcm|nii.gz> and ROOT/masks/<name>.png (same stem, one class index per "
    "pixel, 0 the background; 0/255 masks are read as 0/1), or ROOT/train/{images,masks} and ROOT/val/{images,masks}."
)


def _size(image_size: int | list[int] | None) -> list[int] | None:
    if image_size is None:
        return None
    size = [image_size, image_size] if isinstance(image_size, int) else list(image_size)
    if len(size) != 2 or any(not isinstance(s, int) or s < 1 for s in size):
        raise ConfigError(f"data.args.image_size must be a positive integer or [height, width], got {image_size!r}")
    return size


def _check_channels(channels: int) -> None:
    if channels not in (1, 3):
        raise ConfigError(f"data.args.channels must be 1 (grey) or 3 (RGB), got {channels!r}")


def _stats(intensity: dict[str, Any], channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Normalisation after the intensity mapping: z-scored images already have mean 0 and std 1."""
    if intensity["mode"] == "zscore":
        return (0.0,) * channels, (1.0,) * channels
    return (0.5,) * channels, (0.25,) * channels


class ImageFileDataset(Dataset):
    """Decodes ``paths[i]`` (and ``masks[i]``) on access, resized to ``image_size`` when given."""

    def __init__(self, paths: list[Path], channels: int, intensity: dict[str, Any], image_size: list[int] | None,
                 labels: torch.Tensor | None = None, masks: list[Path] | None = None, binary_masks: bool = False,
                 num_mask_classes: int = 0):
        self.paths, self.channels, self.intensity, self.image_size = paths, channels, intensity, image_size
        self.labels, self.masks = labels, masks
        self.binary_masks, self.num_mask_classes = binary_masks, num_mask_classes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = torch.from_numpy(read_image(self.paths[index], self.channels, self.intensity))
        if self.image_size is not None and list(image.shape[1:]) != self.image_size:
            image = F.interpolate(image[None], size=self.image_size, mode="bilinear", antialias=True)[0]
        item = {"image": image}
        if self.labels is not None:
            item["label"] = self.labels[index]
        if self.masks is not None:
            item["mask"] = self._mask(self.masks[index], tuple(image.shape[1:]))
        return item

    def _mask(self, path: Path, shape: tuple[int, ...]) -> torch.Tensor:
        mask = torch.from_numpy(read_mask(path).astype(np.int64))
        if self.binary_masks:
            mask = (mask > 0).long()
        if int(mask.max()) >= self.num_mask_classes:
            raise ZooError(f"mask {path} holds class {int(mask.max())}, but the dataset has {self.num_mask_classes} "
                           "classes: list them all in data.args.classes (background first)")
        if tuple(mask.shape) != shape:
            mask = F.interpolate(mask[None, None].float(), size=shape, mode="nearest")[0, 0].long()
        return mask


def read_mask(path: Path) -> np.ndarray:
    """A 2D mask of class indices from a PNG/TIFF (grey or palette) or a 2D NIfTI file."""
    if suffix(path) in NIFTI_SUFFIXES:
        from zoo.medical.readers import read_nifti

        return read_nifti(path)[0].squeeze()
    from zoo.inputs import open_image

    with open_image(path) as image:
        return np.array(image if image.mode in ("L", "P", "I", "I;16") else image.convert("L"))


# Images and a labels CSV: diagnosis.


def image_csv(
    split: str,
    root: str | None = None,
    download: bool = False,
    csv_file: str = "labels.csv",
    image_column: str = "image",
    label_columns: list[str] | None = None,
    split_column: str = "split",
    image_size: int | list[int] = 224,
    channels: int = 1,
    intensity: str = "auto",
    window: list[float] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> MedicalSplit:
    """Images listed in ``ROOT/labels.csv``; without a split column, a seeded stratified split of the rows."""
    split = canonical_split(split, "image_csv")
    _check_channels(channels)
    if root is None:
        raise ConfigError(f"dataset 'image_csv' needs its folder: pass data.args.root=PATH. {_CSV_LAYOUT}")
    folder = Path(root).expanduser()
    table = folder / csv_file
    if not table.is_file():
        raise DatasetNotFoundError(f"{table} does not exist. {_CSV_LAYOUT}")
    rows = _read_rows(table)
    columns = list(rows[0]) if rows else []
    if image_column not in columns:
        raise ConfigError(f"{table} has no column {image_column!r} (columns: {', '.join(columns)}); set "
                          f"data.args.image_column. {_CSV_LAYOUT}")
    label_columns = label_columns or [c for c in columns if c not in (image_column, split_column)]
    unknown = [c for c in label_columns if c not in columns]
    if unknown or not label_columns:
        raise ConfigError(f"{table}: label columns {unknown or '(none)'} not found (columns: {', '.join(columns)}). "
                          f"{_CSV_LAYOUT}")
    multi_label = len(label_columns) > 1
    if multi_label:
        classes = list(label_columns)
        targets = torch.tensor([[_flag(row[c], table, c) for c in label_columns] for row in rows])
        strata = None
    else:
        values = [row[label_columns[0]].strip() for row in rows]
        classes = sorted(set(values))
        targets = torch.tensor([classes.index(v) for v in values])
        strata = values
    if split_column in columns:
        named = [_SPLIT_NAMES.get(row[split_column].strip().lower()) for row in rows]
        chosen = [i for i, s in enumerate(named) if s == split or (split == "test" and s is None)]
    elif split == "test":
        raise no_split("image_csv", table, split, ("train", "val"), f"add a {split_column!r} column naming each "
                       "row's split (train, val, test)")
    else:
        parts = split_indices(len(rows), val_fraction, seed, strata)
        chosen = parts[split]
    if not chosen:
        raise DatasetNotFoundError(f"{table} lists no images for split {split!r}. {_CSV_LAYOUT}")
    paths = [_resolve(folder, rows[i][image_column]) for i in chosen]
    spec = intensity_spec(intensity, window)
    mean, std = _stats(spec, channels)
    size = _size(image_size)
    return MedicalSplit(
        dataset=ImageFileDataset(paths, channels, spec, size, labels=targets[chosen]),
        name="image_csv", channels=channels, classes=classes, multi_label=multi_label, image_size=size,
        resize=size, mean=mean, std=std, intensity=spec,
    )


def _read_rows(table: Path) -> list[dict[str, str]]:
    """The labels CSV's rows; a short or long line, a repeated header or text that is not UTF-8 fails naming the
    line (a row read wrongly would otherwise become a class of its own)."""
    try:
        with table.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except UnicodeDecodeError as error:
        raise ConfigError(f"{table} is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    for number, row in enumerate(rows, 2):
        if None in row or any(value is None for value in row.values()):
            count = len(header) + len(row.get(None) or []) - sum(value is None for value in row.values())
            raise ConfigError(f"{table} line {number} has {count} fields where the header has {len(header)}; "
                              "fix or remove that line")
        if header and [row[c] for c in header] == header:
            raise ConfigError(f"{table} line {number} repeats the header: files joined with their headers? Delete "
                              "that line")
    return rows


def _flag(value: str, table: Path, column: str) -> float:
    """0/1 finding flags; blank and -1 (uncertain, as in CheXpert) count as absent."""
    text = value.strip().lower()
    if text in _POSITIVE:
        return 1.0
    if text in _NEGATIVE:
        return 0.0
    raise ConfigError(f"{table}: column {column!r} holds {value!r}; multi-label columns hold 1 (present), 0, -1 or "
                      "blank (absent). For class names in one column, set data.args.label_columns=[COLUMN]")


def _resolve(folder: Path, name: str) -> Path:
    path = Path(name.strip())
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise DatasetNotFoundError(f"image {path} listed in the labels CSV does not exist")
    return path


# Images and masks: segmentation.


def mask_folder(
    split: str,
    root: str | None = None,
    download: bool = False,
    image_dir: str = "images",
    mask_dir: str = "masks",
    classes: list[str] | None = None,
    image_size: int | list[int] | None = None,
    channels: int = 1,
    intensity: str = "auto",
    window: list[float] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> MedicalSplit:
    """Image files and their masks of the same stem; ``classes`` names the mask values, background first."""
    split = canonical_split(split, "mask_folder")
    _check_channels(channels)
    if root is None:
        raise ConfigError(f"dataset 'mask_folder' needs its folder: pass data.args.root=PATH. {_MASK_LAYOUT}")
    folder = Path(root).expanduser()
    classes = list(classes or ["background", "foreground"])
    if len(classes) < 2:
        raise ConfigError(f"data.args.classes must name the background and at least one class, got {classes}")
    fixed = (folder / "train" / image_dir).is_dir() and (folder / "val" / image_dir).is_dir()
    if split == "test" and not (fixed and (folder / "test" / image_dir).is_dir()):
        raise no_split("mask_folder", folder, split, ("train", "val"), f"add {folder / 'test' / image_dir} and "
                       f"{folder / 'test' / mask_dir} beside train/ and val/")
    if fixed:
        pairs = _pairs(folder / split, image_dir, mask_dir)
    else:
        pairs = _pairs(folder, image_dir, mask_dir)
        parts = split_indices(len(pairs), val_fraction, seed)
        pairs = [pairs[i] for i in parts["train" if split == "train" else "val"]]
    if not pairs:
        raise DatasetNotFoundError(f"no image/mask pairs for split {split!r} in {folder}. {_MASK_LAYOUT}")
    spec = intensity_spec(intensity, window)
    mean, std = _stats(spec, channels)
    size = _size(image_size)
    dataset = ImageFileDataset([p for p, _ in pairs], channels, spec, size, masks=[m for _, m in pairs],
                               binary_masks=len(classes) == 2, num_mask_classes=len(classes))
    return MedicalSplit(
        dataset=dataset, name="mask_folder", channels=channels, mask_classes=classes, image_size=size,
        resize=size, mean=mean, std=std, intensity=spec,
    )


def _pairs(folder: Path, image_dir: str, mask_dir: str) -> list[tuple[Path, Path]]:
    images_at, masks_at = folder / image_dir, folder / mask_dir
    if not images_at.is_dir() or not masks_at.is_dir():
        raise DatasetNotFoundError(f"{images_at} and {masks_at} must both exist. {_MASK_LAYOUT}")
    known = IMAGE_SUFFIXES + DICOM_SUFFIXES + NIFTI_SUFFIXES
    masks = {_stem(p): p for p in masks_at.iterdir() if suffix(p) in IMAGE_SUFFIXES + NIFTI_SUFFIXES}
    pairs, unmatched = [], []
    for image in sorted(p for p in images_at.iterdir() if suffix(p) in known):
        if _stem(image) in masks:
            pairs.append((image, masks[_stem(image)]))
        else:
            unmatched.append(image.name)
    if unmatched:
        raise DatasetNotFoundError(f"{len(unmatched)} image(s) in {images_at} have no mask in {masks_at} "
                                   f"(e.g. {', '.join(unmatched[:3])}). {_MASK_LAYOUT}")
    return pairs


def _stem(path: Path) -> str:
    return path.name[: -len(suffix(path))] if suffix(path) else path.name
