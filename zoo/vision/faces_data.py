"""Face datasets: generated identities (the embedded default), LFW pairs in the upstream layout, and folders of
identity subfolders (the CASIA-WebFace / VGGFace2 layout) for training.

Every split is a :class:`FaceSplit`: items ``(image uint8 (3, H, W), identity, index)``; an evaluated split also
holds its verification ``pairs``, rows ``(index_a, index_b, same, fold)`` into its items. Evaluated identities
never appear in the training split.

LFW layout (as extracted from the upstream archives, or under torchvision's ``lfw-py/`` folder)::

    ROOT/lfw/<Name>/<Name>_0001.jpg      (or lfw_funneled/, lfw-deepfunneled/: data.args.image_set)
    ROOT/pairs.txt                       "10<TAB>300", then per fold 300 matched "Name n1 n2" and 300 mismatched
                                         "Name1 n1 Name2 n2" lines (tab-separated)
    ROOT/people.txt                      optional: "10", then per fold a count and "Name<TAB>images" lines

torchvision's ``LFWPairs``/``LFWPeople`` parse the same files but insist on the original ``.tgz`` archives beside
them (they verify their checksums) and can no longer download them, so the files are read here directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms.v2 import functional as tv_functional

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir
from zoo.vision import faces_synth
from zoo.vision.datasets import read_image
from zoo.vision.face_align import Aligner, build_aligner

SPLITS = ("train", "val", "test")
LFW_IMAGE_SETS = ("lfw", "lfw_funneled", "lfw-deepfunneled")
LFW_URL = "https://vis-www.cs.umass.edu/lfw/ (offline now; mirrors such as Kaggle's 'lfw-dataset' hold the files)"
# Without the statistics of a folder's images, inputs are mapped from [0, 1] to [-1, 1] as in ArcFace's recipes.
HALF = (0.5, 0.5, 0.5)


@dataclass
class FaceSplit:
    dataset: Dataset
    identities: list[str]
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pairs: Tensor | None = None  # (P, 4) long: index_a, index_b, same, fold
    align: str = "none"
    crop_fraction: float = 1.0


class FaceTensorDataset(Dataset):
    """Images in one uint8 tensor; ``tensors`` lets the trainer gather and augment batches on the device."""

    def __init__(self, images: Tensor, labels: Tensor):
        self.images, self.labels = images, labels.long()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int]:
        return self.images[index], int(self.labels[index]), index

    @property
    def tensors(self) -> tuple[Tensor, Tensor, Tensor]:
        return self.images, self.labels, torch.arange(len(self.images))


class FaceFileDataset(Dataset):
    """Image files decoded on access, aligned, and resized to ``image_size``."""

    def __init__(self, paths: list[str], labels: list[int], image_size: int, aligner: Aligner):
        self.paths, self.labels, self.image_size, self.aligner = paths, labels, image_size, aligner

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int]:
        return load_face(self.paths[index], self.image_size, self.aligner), self.labels[index], index


def load_face(path: str | Path, image_size: int, aligner: Aligner) -> Tensor:
    """An image file as the model's input: RGB uint8, aligned, ``image_size`` square."""
    image = aligner(read_image(path, 3))
    return tv_functional.resize(image, [image_size, image_size], antialias=True)


def make_pairs(labels: Tensor, folds: int = 10, per_fold: int = 300, seed: int = 0) -> Tensor:
    """LFW-style pairs over items labelled by identity: identities are dealt into ``folds`` (each person in one
    fold), and each fold gets up to ``per_fold`` matched and as many mismatched pairs of its own people."""
    rng = random.Random(seed)
    by_identity: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        by_identity.setdefault(label, []).append(index)
    people = sorted(by_identity)
    rng.shuffle(people)
    rows: list[tuple[int, int, int, int]] = []
    for fold in range(folds):
        members = people[fold::folds]
        matched = [(a, b) for p in members for i, a in enumerate(by_identity[p]) for b in by_identity[p][i + 1:]]
        rng.shuffle(matched)
        matched = matched[:per_fold]
        mismatched: set[tuple[int, int]] = set()
        if len(members) >= 2:
            possible = sum(len(by_identity[p]) for p in members) ** 2  # a bound that stops the loop on tiny folds
            for _ in range(20 * per_fold):
                if len(mismatched) >= len(matched) or len(mismatched) >= possible:
                    break
                p, q = rng.sample(members, 2)
                mismatched.add((rng.choice(by_identity[p]), rng.choice(by_identity[q])))
        rows += [(a, b, 1, fold) for a, b in matched] + [(a, b, 0, fold) for a, b in sorted(mismatched)]
    if not rows or not any(r[2] for r in rows) or all(r[2] for r in rows):
        raise ConfigError("too few identities or images per identity to form matched and mismatched pairs: "
                          "evaluation needs at least two identities per fold with two images each")
    return torch.tensor(rows, dtype=torch.long)


# The embedded default.


def synthetic_faces(
    split: str,
    num_identities: int = faces_synth.NUM_TRAIN_IDENTITIES,
    images_per_identity: int = faces_synth.TRAIN_IMAGES_PER_IDENTITY,
    num_val_identities: int = faces_synth.NUM_VAL_IDENTITIES,
    val_images_per_identity: int = faces_synth.VAL_IMAGES_PER_IDENTITY,
    pairs_per_fold: int = 300,
    image_size: int = faces_synth.IMAGE_SIZE,
    seed: int = 0,
) -> FaceSplit:
    """Generated identities (see :mod:`zoo.vision.faces_synth`); ``val`` (alias ``test``) holds other people."""
    split = _split(split, "synthetic_faces")
    train = split == "train"
    count = num_identities if train else num_val_identities
    per = images_per_identity if train else val_images_per_identity
    if count < 2 or per < (1 if train else 2):
        raise ConfigError(f"synthetic_faces needs at least 2 identities and {'1 image' if train else '2 images'} "
                          f"each in {split}, got {count} x {per}")
    images, labels = faces_synth.cached(split, count, per, seed, image_size)
    prefix = "person" if train else "unseen"
    return FaceSplit(
        dataset=FaceTensorDataset(images, labels),
        identities=[f"{prefix}_{i:04d}" for i in range(count)],
        image_size=image_size,
        mean=faces_synth.MEAN,
        std=faces_synth.STD,
        pairs=None if train else make_pairs(labels, per_fold=pairs_per_fold, seed=seed),
    )


# LFW.


def read_lfw_pairs(path: str | Path) -> list[tuple[str, int, str, int, int, int]]:
    """``pairs.txt`` (ten folds; or a one-fold ``pairsDevTest.txt``) as ``(name_a, n_a, name_b, n_b, same, fold)``."""
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    if not lines:
        raise DatasetNotFoundError(f"{path} is empty: it must start with '<folds><TAB><pairs per fold>'")
    header = [int(v) for v in lines[0]]
    folds, per = (header[0], header[1]) if len(header) == 2 else (1, header[0])
    body = lines[1:]
    if len(body) != folds * 2 * per:
        raise DatasetNotFoundError(f"{path}: the header promises {folds} folds of {per} matched and {per} "
                                   f"mismatched pairs ({folds * 2 * per} lines), found {len(body)} pair lines")
    pairs = []
    for number, fields in enumerate(body):
        fold, matched = number // (2 * per), number % (2 * per) < per
        try:
            if matched and len(fields) == 3:
                pairs.append((fields[0], int(fields[1]), fields[0], int(fields[2]), 1, fold))
            elif not matched and len(fields) == 4:
                pairs.append((fields[0], int(fields[1]), fields[2], int(fields[3]), 0, fold))
            else:
                raise ValueError
        except ValueError:
            kind = "matched 'Name n1 n2'" if matched else "mismatched 'Name1 n1 Name2 n2'"
            raise DatasetNotFoundError(f"{path} line {number + 2}: expected a {kind} pair, "
                                       f"got {' '.join(fields)!r}") from None
    return pairs


def read_lfw_people(path: str | Path) -> list[list[tuple[str, int]]]:
    """``people.txt`` as folds of ``(name, image count)``: a fold count, then per fold a size and its people."""
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    folds, position, result = int(lines[0][0]), 1, []
    for _ in range(folds):
        size = int(lines[position][0])
        result.append([(name, int(count)) for name, count in lines[position + 1: position + 1 + size]])
        position += 1 + size
    if position != len(lines):
        raise DatasetNotFoundError(f"{path}: {len(lines) - position} lines after the {folds} folds it declares")
    return result


def lfw_image(images: Path, name: str, number: int) -> Path:
    return images / name / f"{name}_{number:04d}.jpg"


def lfw(
    split: str,
    root: str | None = None,
    image_set: str = "lfw",
    pairs_file: str = "pairs.txt",
    image_size: int = faces_synth.IMAGE_SIZE,
    align: str = "center_crop",
    crop_fraction: float = 0.5,
) -> FaceSplit:
    """LFW's ten folds of pairs from the upstream files (evaluation only: ``val``/``test``)."""
    split = _split(split, "lfw")
    if split == "train":
        raise ConfigError("LFW is an evaluation set (its ten folds cover all its people): train on face_folder "
                          "(data.args.root=CASIA-WebFace or VGGFace2 folders), then run zoo evaluate --checkpoint "
                          "RUN --dataset lfw data.args.root=LFW_ROOT")
    if image_set not in LFW_IMAGE_SETS:
        raise ConfigError(f"data.args.image_set={image_set!r}: choose one of {', '.join(LFW_IMAGE_SETS)}")
    folder = Path(root).expanduser() if root is not None else data_dir() / "lfw"
    if (folder / "lfw-py").is_dir():  # torchvision's arrangement
        folder = folder / "lfw-py"
    images, pairs_path = folder / image_set, folder / pairs_file
    if not images.is_dir() or not pairs_path.is_file():
        raise DatasetNotFoundError(
            f"LFW files not found: {folder} must hold {image_set}/<Name>/<Name>_0001.jpg and {pairs_file} "
            f"(missing: {', '.join(str(p) for p in (images, pairs_path) if not p.exists())}). Download the archive "
            f"and pairs.txt from {LFW_URL}, extract them into {folder}, or pass data.args.root=PATH.")
    pairs = read_lfw_pairs(pairs_path)
    if len({fold for *_, fold in pairs}) < 2:
        raise ConfigError(f"{pairs_path} holds one fold: the LFW protocol needs pairs.txt's ten folds")
    _check_people(folder / "people.txt", pairs)
    index: dict[tuple[str, int], int] = {}
    for name_a, n_a, name_b, n_b, _, _ in pairs:
        index.setdefault((name_a, n_a), len(index))
        index.setdefault((name_b, n_b), len(index))
    missing = [lfw_image(images, *key) for key in index if not lfw_image(images, *key).is_file()]
    if missing:
        raise DatasetNotFoundError(f"{len(missing)} images named in {pairs_path} are not in {images}, e.g. "
                                   f"{missing[0]}: extract the full {image_set} archive there")
    names = sorted({name for name, _ in index})
    label = {name: i for i, name in enumerate(names)}
    rows = [(index[a, na], index[b, nb], same, fold) for a, na, b, nb, same, fold in pairs]
    dataset = FaceFileDataset([str(lfw_image(images, *key)) for key in index], [label[name] for name, _ in index],
                              image_size, build_aligner(align, crop_fraction))
    return FaceSplit(dataset, names, image_size, HALF, HALF, torch.tensor(rows, dtype=torch.long), align,
                     crop_fraction)


def _check_people(path: Path, pairs: list[tuple[str, int, str, int, int, int]]) -> None:
    """When people.txt is there, every image a pair names must be within its person's image count."""
    if not path.is_file():
        return
    counts = {name: count for fold in read_lfw_people(path) for name, count in fold}
    for name_a, n_a, name_b, n_b, _, _ in pairs:
        for name, number in ((name_a, n_a), (name_b, n_b)):
            if name in counts and number > counts[name]:
                raise DatasetNotFoundError(f"pairs.txt names image {number} of {name}, but {path} gives them "
                                           f"{counts[name]} images: the two files come from different releases")


# Folders of identity subfolders.


def face_folder(
    split: str,
    root: str | None = None,
    val_fraction: float = 0.1,
    pairs_per_fold: int = 300,
    image_size: int = faces_synth.IMAGE_SIZE,
    align: str = "none",
    crop_fraction: float = 1.0,
    seed: int = 0,
) -> FaceSplit:
    """``root/<identity>/<image>``: a seeded ``val_fraction`` of the identities (never their images) is held out
    for verification pairs; the rest train."""
    split = _split(split, "face_folder")
    if root is None:
        raise ConfigError("dataset 'face_folder' needs the folder of identity subfolders: data.args.root=PATH")
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1, got {val_fraction!r}")
    folder = Path(root).expanduser()
    people = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if len(people) < 4:
        raise DatasetNotFoundError(f"{folder} must hold identity subfolders (root/<identity>/<image>.jpg, at least "
                                   f"4 identities), found {len(people)}")
    order = list(people)
    random.Random(seed).shuffle(order)
    held = set(order[: max(2, round(len(people) * val_fraction))])
    chosen = [p for p in people if (p in held) == (split != "train")]
    paths, labels = [], []
    for label, person in enumerate(chosen):
        files = sorted(f for f in (folder / person).iterdir() if f.suffix.lower() in IMG_EXTENSIONS)
        paths += [str(f) for f in files]
        labels += [label] * len(files)
    if not paths:
        raise DatasetNotFoundError(f"no images in the identity subfolders of {folder} for split {split}")
    dataset = FaceFileDataset(paths, labels, image_size, build_aligner(align, crop_fraction))
    pairs = None if split == "train" else make_pairs(torch.tensor(labels), per_fold=pairs_per_fold, seed=seed)
    return FaceSplit(dataset, chosen, image_size, HALF, HALF, pairs, align, crop_fraction)


def _split(split: str, dataset: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset {dataset!r}. Valid splits: {', '.join(SPLITS)} "
                          "('test' is an alias of 'val')")
    return "val" if split == "test" else split
