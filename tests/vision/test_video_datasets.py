"""UCF101, HMDB51, Kinetics and folder layouts, written here in their upstream formats with real encoded clips."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.vision.video_files import write_clip
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.vision.video_datasets import hmdb51, kinetics, kinetics_file_name, ucf101, video_folder


def _names(split) -> list[tuple[str, str]]:
    dataset = split.dataset
    return sorted((Path(dataset[i][0]).name, split.classes[dataset[i][1]]) for i in range(len(dataset)))


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return write_clip(tmp_path_factory.mktemp("clip") / "c.avi", count=6, codec="mpeg4").read_bytes()


def _ucf(root: Path, clip: bytes) -> None:
    classes = ["ApplyEyeMakeup", "Basketball"]
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    for c in classes:
        for g in (1, 2, 3):
            for k in (1, 2):
                path = root / "UCF-101" / c / f"v_{c}_g{g:02d}_c{k:02d}.avi"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(clip)
    for fold in (1, 2, 3):  # fold N tests on group N
        train = [(c, i, g, k) for i, c in enumerate(classes) for g in (1, 2, 3) if g != fold for k in (1, 2)]
        test = [(c, g, k) for c in classes for g in (fold,) for k in (1, 2)]
        (lists / f"trainlist0{fold}.txt").write_text(
            "".join(f"{c}/v_{c}_g{g:02d}_c{k:02d}.avi {i + 1}\r\n" for c, i, g, k in train))
        (lists / f"testlist0{fold}.txt").write_text("".join(f"{c}/v_{c}_g{g:02d}_c{k:02d}.avi\r\n" for c, g, k in test))


def test_ucf101_official_splits_parse_to_their_groups_and_labels(tmp_path, clip_bytes):
    _ucf(tmp_path, clip_bytes)
    for fold in (1, 2, 3):
        train = ucf101("train", root=str(tmp_path), fold=fold)
        test = ucf101("val", root=str(tmp_path), fold=fold)
        assert train.classes == test.classes == ["ApplyEyeMakeup", "Basketball"]
        assert len(train.dataset) == 8 and len(test.dataset) == 4
        assert all(f"_g{fold:02d}_" in name for name, _ in _names(test))
        assert not any(f"_g{fold:02d}_" in name for name, _ in _names(train))
        assert all(name.startswith(f"v_{label}_") for name, label in _names(train) + _names(test))
    clip, label = ucf101("test", root=str(tmp_path)).dataset[0]
    assert Path(clip).is_file() and label == 0


def test_ucf101_lists_that_split_a_group_are_refused(tmp_path, clip_bytes):
    _ucf(tmp_path, clip_bytes)
    lists = tmp_path / "ucfTrainTestlist"
    with (lists / "testlist01.txt").open("a") as handle:
        handle.write("Basketball/v_Basketball_g02_c01.avi\r\n")
    with pytest.raises(ConfigError, match="appear in both"):
        ucf101("train", root=str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="classInd.txt"):
        ucf101("train", root=str(tmp_path / "UCF-101"))


def test_hmdb51_split_files_give_train_test_and_leave_out_unused(tmp_path, clip_bytes):
    lists = tmp_path / "testTrainMulti_7030_splits"
    lists.mkdir()
    tags = {"brush_hair": {"a.avi": 1, "b.avi": 2, "c.avi": 0}, "cartwheel": {"d.avi": 1, "e.avi": 1, "f.avi": 2}}
    for name, videos in tags.items():
        for video in videos:
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / video).write_bytes(clip_bytes)
        for fold in (1, 2, 3):
            shift = {1: videos, 2: {v: {1: 2, 2: 1, 0: 0}[t] for v, t in videos.items()}, 3: videos}[fold]
            (lists / f"{name}_test_split{fold}.txt").write_text("".join(f"{v} {t} \n" for v, t in shift.items()))
    train, test = hmdb51("train", root=str(tmp_path)), hmdb51("val", root=str(tmp_path))
    assert train.classes == ["brush_hair", "cartwheel"]
    assert _names(train) == [("a.avi", "brush_hair"), ("d.avi", "cartwheel"), ("e.avi", "cartwheel")]
    assert _names(test) == [("b.avi", "brush_hair"), ("f.avi", "cartwheel")]
    assert _names(hmdb51("train", root=str(tmp_path), fold=2)) == [("b.avi", "brush_hair"), ("f.avi", "cartwheel")]
    with pytest.raises(ConfigError, match="fold must be 1, 2 or 3"):
        hmdb51("train", root=str(tmp_path), fold=4)


def test_kinetics_csv_and_clip_folders_parse_and_missing_clips_are_counted(tmp_path, clip_bytes):
    notes = tmp_path / "annotations"
    notes.mkdir()
    rows = {"train": [("air drumming", "abc", 10, 20), ("abseiling", "xyz", 0, 10), ("abseiling", "gone", 5, 15)],
            "validate": [("air drumming", "val1", 30, 40)]}
    for name, entries in rows.items():
        with (notes / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            for label, video, start, end in entries:
                writer.writerow([label, video, start, end, name])
                if video != "gone":
                    path = tmp_path / ("train" if name == "train" else "val") / label / kinetics_file_name(video, start, end)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(clip_bytes)
    assert kinetics_file_name("abc", "10", "20") == "abc_000010_000020.mp4"
    with pytest.warns(UserWarning, match="1 of 3 listed clips"):
        train = kinetics("train", root=str(tmp_path))
    assert train.classes == ["abseiling", "air drumming"]
    assert _names(train) == [("abc_000010_000020.mp4", "air drumming"), ("xyz_000000_000010.mp4", "abseiling")]
    assert _names(kinetics("val", root=str(tmp_path))) == [("val1_000030_000040.mp4", "air drumming")]


def test_a_folder_without_splits_keeps_each_group_on_one_side(tmp_path, clip_bytes):
    for c in ("jump", "wave"):
        for g in range(1, 6):
            for k in (1, 2, 3):
                path = tmp_path / c / f"v_{c}_g{g:02d}_c{k:02d}.mp4"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(clip_bytes)
    train, val = video_folder("train", root=str(tmp_path)), video_folder("val", root=str(tmp_path))
    group = lambda name: name.rsplit("_c", 1)[0]  # noqa: E731
    assert len(train.dataset) + len(val.dataset) == 30 and len(val.dataset) == 6
    assert not {group(n) for n, _ in _names(train)} & {group(n) for n, _ in _names(val)}
    assert all(name.startswith(f"v_{label}_") for name, label in _names(train) + _names(val))
