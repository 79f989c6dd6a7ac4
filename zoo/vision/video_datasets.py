"""Action-recognition datasets: the embedded motions, UCF101, HMDB51, Kinetics and a folder of class subfolders.

Each loader returns a :class:`VideoSplit` whose items are ``(video, label)``: a file path (decoded clip by clip in
the task's transforms, see :mod:`zoo.vision.video_sampling`) or a :class:`Frames` held in memory. Listing a split
opens no video, so a dataset of thousands of files loads at once; a file that cannot be decoded fails when it is
read, naming the file.

Upstream layouts, as distributed:

- UCF101: ``root/UCF-101/<Class>/v_<Class>_g<GG>_c<CC>.avi`` and the official split files in
  ``root/ucfTrainTestlist/`` (``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``, N = ``fold`` 1-3). The
  lists keep each group (``gGG``: clips cut from one long video) on one side; the loader checks it.
- HMDB51: ``root/<class>/<video>.avi`` and ``root/testTrainMulti_7030_splits/<class>_test_split<N>.txt`` whose lines
  are ``<video>.avi <tag>``: 1 training, 2 testing, 0 unused.
- Kinetics (400/600/700): ``root/annotations/{train,validate,test}.csv`` with columns ``label, youtube_id,
  time_start, time_end`` (and ``split``), clips at ``root/<split>/<label>/<youtube_id>_<start:06>_<end:06>.mp4``.
  Clips gone from YouTube are skipped with a warning that counts them.
- A folder: ``root/<class>/<video>`` or ``root/train/...`` and ``root/val/...``; without those, a seeded split per
  class in which videos named like UCF101's (``..._gNN_cNN``) keep their group on one side.
"""

from __future__ import annotations

import csv
import random
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir
from zoo.vision import video_clips
from zoo.vision.video_io import VIDEO_EXTENSIONS
from zoo.vision.video_sampling import Frames

# torchvision's video models were trained on Kinetics-400 normalised with these (its VideoClassification preset).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
_GROUP = re.compile(r"_g(\d+)_c\d+$")


@dataclass
class VideoSplit:
    """One split of a video dataset and what preprocessing needs to know about it.

    ``frame_size`` is the short side of the frames when known without decoding (embedded data), else 0.
    """

    dataset: Dataset
    classes: list[str]
    mean: tuple[float, ...] = KINETICS_MEAN
    std: tuple[float, ...] = KINETICS_STD
    frame_size: int = 0


class VideoDataset(Dataset):
    """Videos as file paths, or as one uint8 tensor ``(N, T, H, W, 3)`` at ``fps``, and their int labels."""

    def __init__(self, videos: Sequence[str] | Tensor, labels: Sequence[int] | Tensor, fps: float = 0.0):
        if len(videos) != len(labels):
            raise ValueError(f"{len(videos)} videos but {len(labels)} labels")
        self.videos, self.fps = videos, fps
        self.labels = torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        video = self.videos[index]
        source = Frames(video, self.fps) if isinstance(self.videos, Tensor) else video
        return source, int(self.labels[index])


def _split_name(split: str, name: str, aliases: dict[str, str]) -> str:
    if split not in aliases:
        raise ConfigError(f"unknown split {split!r} for dataset {name!r}. Valid splits: {', '.join(aliases)}.")
    return aliases[split]


_TRAIN_TEST = {"train": "train", "val": "test", "test": "test"}  # UCF101 and HMDB51 publish train and test lists


# -- embedded ---------------------------------------------------------------------------------------------------

def motions(split: str, root: str | None = None, download: bool = False, num_train: int = video_clips.NUM_TRAIN,
            num_val: int = video_clips.NUM_VAL, frames: int = video_clips.FRAMES, size: int = video_clips.SIZE,
            seed: int = 0) -> VideoSplit:
    """The embedded motions (:mod:`zoo.vision.video_clips`); ``root`` and ``download`` are unused."""
    _split_name(split, "motions", {"train": "train", "val": "val", "test": "val"})
    num = num_train if split == "train" else num_val
    videos, labels = video_clips.cached(split, num, seed, frames, size)
    return VideoSplit(VideoDataset(videos, labels, video_clips.FPS), list(video_clips.CLASSES),
                      video_clips.MEAN, video_clips.STD, frame_size=size)


# -- UCF101 -----------------------------------------------------------------------------------------------------

def ucf101(split: str, root: str | None = None, download: bool = False, fold: int = 1,
           annotations: str | None = None) -> VideoSplit:
    """UCF101 (Soomro et al., 2012): 13,320 clips of 101 actions; official split ``fold`` (1-3); val is the test
    list. ``annotations`` is the folder of the split files when it is not ``root/ucfTrainTestlist``."""
    side = _split_name(split, "ucf101", _TRAIN_TEST)
    _check_fold(fold, "ucf101")
    base = _root(root, "ucf101")
    lists = Path(annotations).expanduser() if annotations else base / "ucfTrainTestlist"
    videos = base / "UCF-101" if (base / "UCF-101").is_dir() else base
    class_file = lists / "classInd.txt"
    if not class_file.is_file():
        raise DatasetNotFoundError(
            f"ucf101: {class_file} not found. Unpack UCF101.rar into {base} (videos in {base / 'UCF-101'}) and "
            f"UCF101TrainTestSplits-RecognitionTask.zip beside it (split files in {base / 'ucfTrainTestlist'}), "
            "from https://www.crcv.ucf.edu/data/UCF101.php; or set data.args.annotations=DIR")
    classes = [line.split()[1] for line in _lines(class_file)]
    index = {name: i for i, name in enumerate(classes)}
    chosen = _ucf_list(lists, side, fold)
    other = _ucf_list(lists, "test" if side == "train" else "train", fold)
    shared = {_group(p) for p in chosen} & {_group(p) for p in other}
    if shared:
        raise ConfigError(f"ucf101 fold {fold}: groups {sorted(shared)[:3]} appear in both the train and the test "
                          f"list of {lists}; use the official split files, which keep each group on one side")
    paths, labels = [], []
    for relative in chosen:
        label = relative.split("/")[0]
        if label not in index:
            raise ConfigError(f"ucf101: {relative} in {lists} names class {label!r}, which {class_file} lacks")
        paths.append(str(videos / relative))
        labels.append(index[label])
    _check_exist(paths, "ucf101", videos)
    return VideoSplit(VideoDataset(paths, labels), classes)


def _ucf_list(lists: Path, side: str, fold: int) -> list[str]:
    path = lists / f"{side}list0{fold}.txt"
    if not path.is_file():
        raise DatasetNotFoundError(f"ucf101: split file {path} not found (the official lists are "
                                   "trainlist01-03.txt and testlist01-03.txt)")
    return [line.split()[0].replace("\\", "/") for line in _lines(path)]


def _group(relative: str) -> str:
    """``Class/v_Class_g08_c01.avi`` -> ``Class/g08``: clips of one group come from one long video."""
    stem = Path(relative).stem
    found = _GROUP.search(stem)
    return f"{relative.split('/')[0]}/g{found.group(1)}" if found else stem


# -- HMDB51 -----------------------------------------------------------------------------------------------------

def hmdb51(split: str, root: str | None = None, download: bool = False, fold: int = 1,
           annotations: str | None = None) -> VideoSplit:
    """HMDB51 (Kuehne et al., 2011): 6,766 clips of 51 actions; official split ``fold`` (1-3), 70 training and 30
    testing clips per class; val is the test side. ``annotations`` is the folder of the split files when it is not
    ``root/testTrainMulti_7030_splits``."""
    side = _split_name(split, "hmdb51", _TRAIN_TEST)
    _check_fold(fold, "hmdb51")
    base = _root(root, "hmdb51")
    lists = Path(annotations).expanduser() if annotations else base / "testTrainMulti_7030_splits"
    pattern = re.compile(rf"^(.+)_test_split{fold}\.txt$")
    files = sorted(p for p in lists.glob(f"*_test_split{fold}.txt")) if lists.is_dir() else []
    if not files:
        raise DatasetNotFoundError(
            f"hmdb51: no split files *_test_split{fold}.txt in {lists}. Unpack hmdb51_org.rar into {base} (one "
            f"folder per class) and test_train_splits.rar beside it, from "
            "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/; or set "
            "data.args.annotations=DIR")
    classes = sorted(pattern.match(p.name).group(1) for p in files)  # type: ignore[union-attr]
    tag = "1" if side == "train" else "2"
    paths, labels = [], []
    for label, path in enumerate(sorted(files, key=lambda p: pattern.match(p.name).group(1))):  # type: ignore
        for line in _lines(path):
            name, _, value = line.rpartition(" ")
            if value.strip() == tag:
                paths.append(str(base / classes[label] / name.strip()))
                labels.append(label)
    _check_exist(paths, "hmdb51", base)
    return VideoSplit(VideoDataset(paths, labels), classes)


# -- Kinetics ---------------------------------------------------------------------------------------------------

_KINETICS_CSV = {"train": ("train",), "val": ("validate", "val"), "test": ("test",)}


def kinetics(split: str, root: str | None = None, download: bool = False, annotations: str | None = None,
             videos: str | None = None) -> VideoSplit:
    """Kinetics-400/600/700 (Kay et al., 2017) as the official downloader lays it out: the split's CSV (label,
    youtube_id, time_start, time_end) under ``root/annotations`` (or ``annotations``), clips under
    ``root/<split>/<label>/`` (or ``videos``/<label>/). Classes are the training CSV's labels, sorted."""
    side = _split_name(split, "kinetics", {"train": "train", "val": "val", "test": "test"})
    base = _root(root, "kinetics")
    notes = Path(annotations).expanduser() if annotations else base / "annotations"
    rows = _kinetics_rows(notes, side)
    train_rows = rows if side == "train" else _kinetics_rows(notes, "train", required=False) or rows
    classes = sorted({row["label"] for row in train_rows})
    index = {name: i for i, name in enumerate(classes)}
    folder = Path(videos).expanduser() if videos else next(
        (base / name for name in (side, *_KINETICS_CSV[side]) if (base / name).is_dir()), base / side)
    paths, labels, missing = [], [], []
    for row in rows:
        if row["label"] not in index:
            raise ConfigError(f"kinetics {side}: label {row['label']!r} is not among the training CSV's classes")
        path = folder / row["label"] / kinetics_file_name(row["youtube_id"], row["time_start"], row["time_end"])
        (paths if path.is_file() else missing).append(str(path))
        if path.is_file():
            labels.append(index[row["label"]])
    if not paths:
        raise DatasetNotFoundError(f"kinetics {side}: none of the {len(rows)} clips listed is under {folder} "
                                   f"(e.g. {missing[0] if missing else '?'}); download them with the official "
                                   "script (https://github.com/cvdfoundation/kinetics-dataset) or set data.args.videos")
    if missing:
        warnings.warn(f"kinetics {side}: {len(missing)} of {len(rows)} listed clips are not under {folder} (clips "
                      f"removed from YouTube are usual; e.g. {missing[0]}); using the {len(paths)} found",
                      stacklevel=2)
    return VideoSplit(VideoDataset(paths, labels), classes)


def kinetics_file_name(youtube_id: str, start: Any, end: Any) -> str:
    """``{youtube_id}_{start:06}_{end:06}.mp4``, the name the official downloader gives a clip."""
    return f"{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}.mp4"


def _kinetics_rows(notes: Path, side: str, required: bool = True) -> list[dict[str, str]]:
    for name in _KINETICS_CSV[side]:
        path = notes / f"{name}.csv"
        if path.is_file():
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            columns = {"label", "youtube_id", "time_start", "time_end"}
            if rows and not columns <= set(rows[0]):
                raise ConfigError(f"kinetics: {path} lacks columns {sorted(columns - set(rows[0]))}; expected a "
                                  "header of label,youtube_id,time_start,time_end[,split]")
            return rows
    if required:
        raise DatasetNotFoundError(f"kinetics: no {' or '.join(n + '.csv' for n in _KINETICS_CSV[side])} in {notes} "
                                   "(the annotation CSVs of https://github.com/cvdfoundation/kinetics-dataset)")
    return []


# -- a folder ---------------------------------------------------------------------------------------------------

def video_folder(split: str, root: str | None = None, download: bool = False, val_fraction: float = 0.2,
                 seed: int = 0) -> VideoSplit:
    """Your own videos: ``root/<class>/<video>``, or ``root/train/<class>/...`` and ``root/val/<class>/...``."""
    side = _split_name(split, "video_folder", {"train": "train", "val": "val", "test": "val"})
    if root is None:
        raise ConfigError("dataset 'video_folder' needs the folder of videos: pass data.args.root=PATH")
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    base = Path(root).expanduser()
    if (base / "train").is_dir() and (base / "val").is_dir():
        classes = sorted(set(_subfolders(base / "train")) | set(_subfolders(base / "val")))
        samples = _videos_in(base / side, classes)
    else:
        classes = _subfolders(base)
        samples = _group_split(_videos_in(base, classes), val_fraction, seed)[side == "val"]
    return VideoSplit(VideoDataset([p for p, _ in samples], [label for _, label in samples]), classes)


def _subfolders(folder: Path) -> list[str]:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not names:
        raise DatasetNotFoundError(f"no class subfolders in {folder}: expected {folder}/<class>/<video> with videos "
                                   f"ending in {', '.join(VIDEO_EXTENSIONS)}, or {folder}/train and {folder}/val")
    return names


def _videos_in(folder: Path, classes: list[str]) -> list[tuple[str, int]]:
    samples = [(str(p), label) for label, name in enumerate(classes) if (folder / name).is_dir()
               for p in sorted((folder / name).rglob("*")) if p.suffix.lower() in VIDEO_EXTENSIONS]
    if not samples:
        raise DatasetNotFoundError(f"no videos ({', '.join(VIDEO_EXTENSIONS)}) in the class subfolders of {folder}")
    return samples


def _group_split(samples: list[tuple[str, int]], val_fraction: float, seed: int) -> tuple[list, list]:
    """A seeded split per class that moves whole groups (UCF101-style ``_gNN_cNN`` names; else single videos)."""
    rng = random.Random(seed)
    train, val = [], []
    by_class: dict[int, dict[str, list[tuple[str, int]]]] = {}
    for path, label in samples:
        by_class.setdefault(label, {}).setdefault(_group(f"{label}/{Path(path).name}"), []).append((path, label))
    for label in sorted(by_class):
        groups = sorted(by_class[label])
        rng.shuffle(groups)
        count = min(len(groups) - 1, max(1, round(len(groups) * val_fraction))) if len(groups) > 1 else 0
        for position, group in enumerate(groups):
            (val if position < count else train).extend(by_class[label][group])
    return sorted(train), sorted(val)


# -- shared -----------------------------------------------------------------------------------------------------

def _root(root: str | None, name: str) -> Path:
    base = Path(root).expanduser() if root else data_dir() / name
    if not base.is_dir():
        raise DatasetNotFoundError(f"{name}: folder {base} does not exist; put the dataset there or set "
                                   "data.args.root=PATH (the layout is described in docs/vision.md)")
    return base


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]


def _check_fold(fold: int, name: str) -> None:
    if fold not in (1, 2, 3):
        raise ConfigError(f"{name}: data.args.fold must be 1, 2 or 3 (the three official splits), got {fold!r}")


def _check_exist(paths: list[str], name: str, folder: Path) -> None:
    if not paths:
        raise DatasetNotFoundError(f"{name}: the split files list no videos")
    absent = [p for p in paths if not Path(p).is_file()]
    if absent:
        raise DatasetNotFoundError(f"{name}: {len(absent)} of the {len(paths)} videos listed are missing under "
                                   f"{folder}, e.g. {absent[0]}")
