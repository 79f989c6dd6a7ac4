"""Image-classification datasets: torchvision's loaders for the upstream files, and the user's own folders."""

from __future__ import annotations

import gzip
import math
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets as tv_datasets
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.transforms.v2 import functional as tv_functional

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir


@dataclass
class ImageSplit:
    """One split of an image dataset and what a model and its preprocessing need to know about it.

    Items of ``dataset`` are ``(image, label)``: image a uint8 tensor (C, H, W) or a PIL image, label an int.
    """

    dataset: Dataset
    classes: list[str]
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


SPLITS = ("train", "val")
_SPLIT_ALIASES = {"train": "train", "val": "val", "test": "val"}

# Per-channel normalisation constants of each training set, as commonly published.
_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
}

_DOWNLOAD_HINT = "or set data.args.download=true to download them"


def _failed(error: BaseException) -> str:
    """A download error in one line (torchvision's span several), for a run that already asked to download."""
    text = " ".join(str(error).split())
    return f"data.args.download=true is set, but the download failed: {text[:300]}"
_FOLDER_LAYOUT = (
    "Expected layout: root/<class>/<image>.png (one subfolder per class, named after it), "
    "or root/train/<class>/<image>.png and root/val/<class>/<image>.png (and root/test/...) for fixed splits; "
    f"image files end in {', '.join(IMG_EXTENSIONS)}."
)


class TensorImageDataset(Dataset):
    """Images held in one uint8 tensor, so items need no decoding and batches stack without copies of PIL images."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be a uint8 tensor (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"labels must be a tensor (N,) with N={len(images)}, got shape {tuple(labels.shape)}")
        self.images = images
        self.labels = labels.to(torch.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    @property
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All items at once, for batches gathered on the device (zoo.data.DeviceLoader)."""
        return self.images, self.labels


WORK_SCALE = 1.25  # training images keep this much more than the crop, so random crops rarely upsample
DECODED_CACHE_MB = 1024  # decoded images an image folder keeps in memory per process (uint8, after resizing)


class ImageFileDataset(Dataset):
    """Image files decoded on access to a fixed channel count, as few pixels as the model needs.

    With ``train``, the aspect ratio is kept: the shorter side becomes ``work_size`` and the training transform
    crops at random (``zoo.vision.transforms.train_transform``); otherwise the shorter side becomes ``image_size``
    and the centre is cut out. An image already ``image_size`` square is returned as it is. JPEGs are decoded at
    the smallest of 1/1, 1/2, 1/4 and 1/8 scale that still covers that size (PIL draft mode). Decoded and resized
    images are kept in memory, up to ``cache_mb`` per process, so that every epoch after the first decodes nothing.
    """

    def __init__(self, samples: list[tuple[str, int]], image_size: int, channels: int, train: bool = False,
                 cache_mb: float = DECODED_CACHE_MB):
        self.samples = samples
        self.cache: dict[int, torch.Tensor] = {}
        self.cache_bytes, self.cache_limit = 0, int(cache_mb * 2**20)
        self.image_size = image_size
        self.channels = channels
        self.train = train
        self.work_size = math.ceil(image_size * WORK_SCALE) if train else image_size
        self.fitted: dict[str, tuple] = {}  # what the loader derived from the files (zoo.fit prints and saves it)
        self.skipped: dict[str, list[str]] = {}  # files left out, by reason (zoo.fit reports them)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        image = self.cache.get(index)
        if image is None:
            image = self._decode(path)
            if self.cache_bytes + image.numel() <= self.cache_limit:
                self.cache[index], self.cache_bytes = image, self.cache_bytes + image.numel()
        return image, label

    def _decode(self, path: str) -> torch.Tensor:
        image = read_image(path, self.channels, self.work_size)
        if tuple(image.shape[-2:]) == (self.image_size, self.image_size):
            return image
        image = tv_functional.resize(image, self.work_size, antialias=True)  # the shorter side
        if not self.train:
            image = tv_functional.center_crop(image, [self.image_size, self.image_size])
        return image




def read_image(path: str | Path, channels: int, shorter_side: int | None = None) -> torch.Tensor:
    """Decode an image file to uint8 (channels, H, W); grey and RGB are converted and alpha dropped.

    With ``shorter_side``, a JPEG is decoded in PIL's draft mode at the smallest scale whose shorter side still
    covers it: an 8-megapixel photo for a 64-pixel model decodes an eighth of its width and height.
    PIL rather than torchvision.io: it reads every ImageFolder extension, and torchvision 0.29 deprecates its decoders.
    """
    from zoo.inputs import open_image

    with open_image(path) as image:
        if shorter_side and image.format == "JPEG":
            width, height = image.size
            scale = shorter_side / max(min(width, height), 1)
            image.draft("L" if channels == 1 else "RGB", (math.ceil(width * scale), math.ceil(height * scale)))
        array = np.array(image.convert("L" if channels == 1 else "RGB"))
    tensor = torch.from_numpy(array)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


def canonical_split(split: str, dataset: str) -> str:
    """``train`` or ``val``; ``test`` names the upstream test set, which is the zoo's ``val``."""
    if split not in _SPLIT_ALIASES:
        raise ConfigError(
            f"unknown split {split!r} for dataset {dataset!r}. Valid splits: {', '.join(SPLITS)} "
            "('test' is accepted as an alias of 'val')."
        )
    return _SPLIT_ALIASES[split]


def _default_root(root: str | os.PathLike | None, name: str) -> Path:
    return Path(root).expanduser() if root is not None else data_dir() / name


def _image_split(name: str, dataset: Dataset, classes: list[str], image_size: int) -> ImageSplit:
    mean, std = _STATS[name]
    return ImageSplit(dataset, list(classes), len(mean), image_size, mean, std)


# CIFAR-10 / CIFAR-100: python pickle batches inside cifar-10-batches-py/ or cifar-100-python/.


def cifar10(split: str, root: str | None = None, download: bool = False) -> ImageSplit:
    """CIFAR-10 (32x32 RGB, 10 classes) from the upstream python batches; ``val`` is the upstream test set."""
    return _cifar(tv_datasets.CIFAR10, "cifar10", split, root, download)


def cifar100(split: str, root: str | None = None, download: bool = False) -> ImageSplit:
    """CIFAR-100 (32x32 RGB, 100 fine classes) from the upstream python files; ``val`` is the upstream test set."""
    return _cifar(tv_datasets.CIFAR100, "cifar100", split, root, download)


def _cifar(
    cls: type[tv_datasets.CIFAR10], name: str, split: str, root: str | None, download: bool
) -> ImageSplit:
    train = canonical_split(split, name) == "train"
    folder = _default_root(root, name)
    if _cifar_missing(cls, folder) and not download:
        raise DatasetNotFoundError(_cifar_not_found_message(cls, name, folder))
    try:
        ds = cls(str(folder), train=train, download=download)
    except (OSError, RuntimeError) as error:
        if _cifar_missing(cls, folder):
            raise DatasetNotFoundError(_cifar_not_found_message(cls, name, folder, _failed(error))) from error
        raise DatasetNotFoundError(_cifar_corrupt_message(cls, name, folder, error)) from error
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    return _image_split(name, TensorImageDataset(images, labels), ds.classes, 32)


def _cifar_files(cls: type[tv_datasets.CIFAR10]) -> list[str]:
    """Every file torchvision requires, whichever split is asked for: it checks all of them."""
    return [file for file, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]


def _cifar_missing(cls: type[tv_datasets.CIFAR10], folder: Path) -> list[str]:
    return [file for file in _cifar_files(cls) if not (folder / cls.base_folder / file).is_file()]


def _cifar_not_found_message(
    cls: type[tv_datasets.CIFAR10], name: str, folder: Path, hint: str = _DOWNLOAD_HINT
) -> str:
    directory = folder / cls.base_folder
    missing = _cifar_missing(cls, folder)
    return (
        f"{name} files not found: {directory} must hold {', '.join(_cifar_files(cls))} "
        f"(missing: {', '.join(missing)}). Download {cls.url} and extract it into {folder} "
        f"(the archive {cls.filename} unpacks to {cls.base_folder}/), {hint}."
    )


def _cifar_corrupt_message(cls: type[tv_datasets.CIFAR10], name: str, folder: Path, error: Exception) -> str:
    directory = folder / cls.base_folder
    return (
        f"{name} files in {directory} are present but torchvision rejected them ({error}): they do not match the "
        f"upstream checksums. Delete {directory} and extract a fresh copy of {cls.url} into {folder}, "
        f"{_DOWNLOAD_HINT}."
    )


# MNIST / Fashion-MNIST: idx files in <root>/<MNIST|FashionMNIST>/raw/, plain or gzip-compressed.


def mnist(split: str, root: str | None = None, download: bool = False) -> ImageSplit:
    """MNIST digits (28x28 grey, 10 classes) from the upstream idx files; ``val`` is the upstream test set."""
    return _mnist(tv_datasets.MNIST, "mnist", split, root, download)


def fashion_mnist(split: str, root: str | None = None, download: bool = False) -> ImageSplit:
    """Fashion-MNIST (28x28 grey, 10 classes) from the upstream idx files; ``val`` is the upstream test set."""
    return _mnist(tv_datasets.FashionMNIST, "fashion_mnist", split, root, download)


def _mnist(cls: type[tv_datasets.MNIST], name: str, split: str, root: str | None, download: bool) -> ImageSplit:
    """Reads only the asked split's two files, so a folder holding just the test files serves ``val``."""
    train = canonical_split(split, name) == "train"
    folder = _default_root(root, name)
    raw = folder / cls.__name__ / "raw"
    archives = _mnist_archives(cls, train)
    if download and _mnist_missing(raw, archives):
        _mnist_download(cls, name, folder, raw, archives, train)
    if _mnist_missing(raw, archives):
        raise DatasetNotFoundError(_mnist_not_found_message(cls, name, raw, archives))
    image_file, label_file = (_decompressed(raw, archive) for archive in archives)
    images, labels = _read_idx(name, image_file, label_file)
    return _image_split(name, TensorImageDataset(images.unsqueeze(1), labels), list(cls.classes), 28)


def _mnist_archives(cls: type[tv_datasets.MNIST], train: bool) -> list[str]:
    """The split's upstream file names (images first, then labels), as torchvision lists them."""
    prefix = "train-" if train else "t10k-"
    names = [file for file, _ in cls.resources if file.startswith(prefix)]
    return sorted(names, key=lambda file: "labels" in file)


def _plain_name(archive: str) -> str:
    return archive[: -len(".gz")] if archive.endswith(".gz") else archive


def _mnist_missing(raw: Path, archives: list[str]) -> list[str]:
    return [a for a in archives if not (raw / _plain_name(a)).is_file() and not (raw / a).is_file()]


def _mnist_download(
    cls: type[tv_datasets.MNIST], name: str, folder: Path, raw: Path, archives: list[str], train: bool
) -> None:
    try:
        cls(str(folder), train=train, download=True)
    except (OSError, RuntimeError) as error:
        message = _mnist_not_found_message(cls, name, raw, archives, hint=_failed(error))
        raise DatasetNotFoundError(message) from error


def _mnist_not_found_message(
    cls: type[tv_datasets.MNIST], name: str, raw: Path, archives: list[str], hint: str = _DOWNLOAD_HINT
) -> str:
    mirror, *others = cls.mirrors
    urls = ", ".join(f"{mirror}{archive}" for archive in archives)
    alternatives = f" (mirrors: {', '.join(others)})" if others else ""
    return (
        f"{name} files not found: {raw} must hold {' and '.join(archives)} (gzip-compressed as downloaded, "
        f"or uncompressed as {' and '.join(_plain_name(a) for a in archives)}; "
        f"missing: {', '.join(_mnist_missing(raw, archives))}). "
        f"Download them from {urls}{alternatives} into {raw}, {hint}."
    )


def _decompressed(raw: Path, archive: str) -> Path:
    """The plain idx file torchvision reads, unpacked once beside its ``.gz`` as torchvision's download does."""
    plain = raw / _plain_name(archive)
    if plain.is_file():
        return plain
    partial = plain.with_name(f".{plain.name}.partial")
    try:
        with gzip.open(raw / archive, "rb") as source, open(partial, "wb") as target:
            shutil.copyfileobj(source, target)
        os.replace(partial, plain)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise DatasetNotFoundError(
            f"cannot unpack {raw / archive} to {plain} ({error}). Unpack it there yourself (gunzip -k), "
            f"or put the dataset in a writable directory."
        ) from error
    return plain


def _read_idx(name: str, image_file: Path, label_file: Path) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        images = read_image_file(str(image_file))
        labels = read_label_file(str(label_file))
    except (AssertionError, KeyError, TypeError, ValueError, RuntimeError) as error:
        raise DatasetNotFoundError(
            f"{name}: {image_file} or {label_file} is not a valid idx file ({error!r}); download it again."
        ) from error
    if len(images) != len(labels):
        raise DatasetNotFoundError(
            f"{name}: {image_file} holds {len(images)} images but {label_file} holds {len(labels)} labels; "
            "they must come from the same release."
        )
    return images, labels


# The user's own images: one subfolder per class, ImageFolder conventions.

FOLDER_SPLITS = ("train", "val", "test")
SIZE_SAMPLE = 50  # images whose header gives the size a run derives


def image_folder(
    split: str,
    root: str | None = None,
    download: bool = False,
    image_size: int | None = None,
    max_image_size: int = 64,
    channels: int | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> ImageSplit:
    """A folder of class subfolders; ``root/train`` + ``root/val`` (and ``root/test``) give fixed splits, else a
    seeded stratified split (``test_fraction`` > 0 holds out a test split too).

    ``image_size`` and ``channels`` left out are derived from the files: the median shorter side of a sample of
    images (at most ``max_image_size``), and one channel when every sampled image is grey. Files that are not
    images, images that cannot be opened and folders without images are left out and reported (``skipped``).
    ``download`` is accepted so every loader shares one signature; there is nothing to download.
    """
    if split not in FOLDER_SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset 'image_folder'. Valid splits: {', '.join(FOLDER_SPLITS)}.")
    _check_folder_options(image_size, max_image_size, channels, val_fraction, test_fraction)
    if root is None:
        raise ConfigError("dataset 'image_folder' needs the folder of images: pass data.args.root=PATH.")
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(f"image folder {folder} does not exist. {_FOLDER_LAYOUT}")
    classes, splits, skipped = _folder_splits(folder, val_fraction, test_fraction, seed)
    if split not in splits:
        raise ConfigError(
            f"image folder {folder} has no {split} split (its splits: {', '.join(splits)}); add {folder / split}/<class>/ "
            f"images or set data.args.test_fraction=0.1 to hold out a seeded part"
        )
    every = [sample for part in splits.values() for sample in part]
    fitted: dict[str, tuple] = {}
    sides, grey = _sample_sizes(every)
    median, count = int(np.median([min(side) for side in sides])), len(sides)
    if image_size is None or channels is None:
        if image_size is None:
            image_size = min(median, max_image_size)
            fitted["data.args.image_size"] = (None, image_size, f"median shorter side of {count} images is "
                                              f"{median} px, at most data.args.max_image_size {max_image_size}")
        if channels is None:
            channels = 1 if grey else 3
            fitted["data.args.channels"] = (None, channels, f"{count} sampled images are "
                                            f"{'all grey' if grey else 'in colour'}")
    square = all(side == (image_size, image_size) for side in sides)
    if square and len(every) * image_size**2 * channels <= IN_MEMORY_BYTES:
        dataset: Dataset = DecodedImages(splits[split], image_size, channels)  # small images: decoded once
    else:
        dataset = ImageFileDataset(splits[split], image_size, channels, train=split == "train")
    dataset.fitted, dataset.skipped = fitted, skipped
    mean = (0.5,) * channels
    return ImageSplit(dataset, classes, channels, image_size, mean, mean)


def _check_folder_options(
    image_size: int | None, max_image_size: int, channels: int | None, val_fraction: float, test_fraction: float
) -> None:
    if channels not in (None, 1, 3):
        raise ConfigError(f"data.args.channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    for name, value in (("image_size", image_size), ("max_image_size", max_image_size)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"data.args.{name} must be a positive integer, got {value!r}.")
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}.")
    if not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ConfigError(f"data.args.test_fraction must be at least 0 and leave images to train on beside "
                          f"val_fraction {val_fraction}, got {test_fraction!r}.")


def _folder_splits(
    folder: Path, val_fraction: float, test_fraction: float, seed: int
) -> tuple[list[str], dict[str, list[tuple[str, int]]], dict[str, list[str]]]:
    """Class names, every split's ``(path, label)`` pairs (labels index the sorted names), and what was skipped."""
    fixed = [name for name in FOLDER_SPLITS if (folder / name).is_dir()]
    if "train" in fixed and "val" in fixed:
        scans = {name: scan_class_folders(folder / name) for name in fixed}
        classes = sorted({c for found, _ in scans.values() for c in found})
        skipped: dict[str, list[str]] = {}
        for _, (_, found_skipped) in scans.items():
            for reason, paths in found_skipped.items():
                skipped.setdefault(reason, []).extend(paths)
        splits = {name: _labelled(found, classes, folder / name) for name, (found, _) in scans.items()}
        return classes, splits, skipped
    found, skipped = scan_class_folders(folder)
    classes = sorted(found)
    samples = _labelled(found, classes, folder)
    splits = {}
    if test_fraction > 0:
        samples, splits["test"] = stratified_split(samples, test_fraction, seed + 1)
        val_fraction = val_fraction / (1 - test_fraction)
    splits["train"], splits["val"] = stratified_split(samples, val_fraction, seed)
    return classes, {name: splits[name] for name in FOLDER_SPLITS if name in splits}, skipped


def _labelled(found: dict[str, list[str]], classes: list[str], folder: Path) -> list[tuple[str, int]]:
    samples = [(path, classes.index(name)) for name, paths in found.items() for path in paths]
    if not samples:
        raise DatasetNotFoundError(f"no images in the class subfolders of {folder}. {_FOLDER_LAYOUT}")
    return sorted(samples)


_SCANS: dict[tuple, tuple[dict[str, list[str]], dict[str, list[str]]]] = {}


def scan_class_folders(folder: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``{class: [image paths]}`` of the subfolders (searched in depth) and ``{reason: [paths]}`` left out.

    Every image's header is opened once, so a corrupt file is reported here rather than failing mid-epoch; a scan
    is kept while the folder and its class folders keep their modification times.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        raise DatasetNotFoundError(f"cannot list {folder}: {error}. {_FOLDER_LAYOUT}") from error
    key = (str(folder), folder.stat().st_mtime_ns, *((e.name, e.stat().st_mtime_ns) for e in entries))
    if key in _SCANS:
        return _SCANS[key]
    found: dict[str, list[str]] = {}
    skipped: dict[str, list[str]] = {}

    def skip(reason: str, path: str) -> None:
        skipped.setdefault(reason, []).append(path)

    for entry in entries:
        if not entry.is_dir():
            skip("files outside the class folders", entry.path)
            continue
        images, left_out = [], []
        for directory, subfolders, files in os.walk(entry.path):
            subfolders.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                if not name.lower().endswith(IMG_EXTENSIONS):
                    left_out.append((f"files that are not {'/'.join(e.lstrip('.') for e in IMG_EXTENSIONS)} images",
                                     path))
                elif not _opens(path):
                    left_out.append(("images that cannot be read", path))
                else:
                    images.append(path)
        if images:
            found[entry.name] = images
            for reason, path in left_out:
                skip(reason, path)
        else:  # the folder is reported, not each file in it
            skip("folders without images (not classes)", entry.path)
    if not found:
        raise DatasetNotFoundError(f"no class subfolders with images in {folder}. {_FOLDER_LAYOUT}")
    _SCANS[key] = found, skipped
    return found, skipped


def _opens(path: str) -> bool:
    try:
        with Image.open(path) as image:
            image.size  # noqa: B018 - the header is parsed on open; a truncated body fails at decode (one clear error)
        return True
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def _sample_sizes(samples: list[tuple[str, int]]) -> tuple[list[tuple[int, int]], bool]:
    """The (width, height) of up to ``SIZE_SAMPLE`` images spread over the list, and whether all are grey (headers
    only)."""
    step = max(1, len(samples) // SIZE_SAMPLE)
    sides, grey = [], True
    for path, _ in samples[::step][:SIZE_SAMPLE]:
        with Image.open(path) as image:
            sides.append(image.size)
            grey = grey and image.mode in ("1", "L", "I;16", "I", "F")
    return sides, grey


IN_MEMORY_BYTES = 512 * 2**20  # a folder of small square images this size or less is decoded once, into memory


class DecodedImages(TensorImageDataset):
    """A folder of images already the model's size (digits, thumbnails), decoded once into one uint8 tensor: no
    decoding per epoch, and batches gathered and augmented on the device like CIFAR's."""

    def __init__(self, samples: list[tuple[str, int]], image_size: int, channels: int):
        files = ImageFileDataset(samples, image_size, channels)
        images = torch.empty((len(samples), channels, image_size, image_size), dtype=torch.uint8)
        for index in range(len(samples)):
            images[index] = files[index][0]
        super().__init__(images, torch.tensor([label for _, label in samples], dtype=torch.int64))
        self.samples = samples
        self.fitted: dict[str, tuple] = {}
        self.skipped: dict[str, list[str]] = {}


def stratified_split(
    samples: list[tuple[str, int]], val_fraction: float, seed: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Split ``(path, label)`` pairs per class so both splits keep the class balance, reproducibly for a seed.

    Each class with two or more images puts at least one in each split; a class with one image keeps it in train.
    """
    by_class: dict[int, list[tuple[str, int]]] = {}
    for sample in sorted(samples):
        by_class.setdefault(sample[1], []).append(sample)
    rng = random.Random(seed)
    train: list[tuple[str, int]] = []
    val: list[tuple[str, int]] = []
    for label in sorted(by_class):
        members = by_class[label]
        order = list(range(len(members)))
        rng.shuffle(order)
        count = _val_count(len(members), val_fraction)
        chosen = set(order[:count])
        val.extend(m for i, m in enumerate(members) if i in chosen)
        train.extend(m for i, m in enumerate(members) if i not in chosen)
    return train, val


def _val_count(size: int, val_fraction: float) -> int:
    if size < 2:
        return 0
    return min(size - 1, max(1, round(size * val_fraction)))
