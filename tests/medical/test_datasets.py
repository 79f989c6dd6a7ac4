"""Loaders on files the tests write in the upstream formats: MedMNIST .npz, images + labels CSV, images + masks,
Decathlon NIfTI volumes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.medical.files import write_csv, write_medmnist, write_msd, write_png
from zoo.errors import ConfigError, DatasetNotFoundError, ZooError
from zoo.medical import folders, medmnist
from zoo.medical.volumes import msd


def test_medmnist_grey_binary(tmp_path):
    path = write_medmnist(tmp_path, "pneumoniamnist")
    split = medmnist.pneumoniamnist("test", root=str(tmp_path))
    item = split.dataset[0]
    assert len(split.dataset) == 6 and split.classes == ["normal", "pneumonia"] and not split.multi_label
    assert item["image"].dtype == torch.uint8 and item["image"].shape == (1, 28, 28)
    with np.load(path) as archive:
        assert torch.equal(item["image"][0], torch.from_numpy(archive["test_images"][0]))
        assert int(item["label"]) == int(archive["test_labels"][0, 0])
    assert item["label"].dtype == torch.int64 and item["label"].ndim == 0


def test_medmnist_rgb_and_larger_sizes(tmp_path):
    path = write_medmnist(tmp_path, "bloodmnist", size=64, channels=3, labels=8)
    split = medmnist.bloodmnist("train", root=str(tmp_path), size=64)
    item = split.dataset[1]
    assert split.channels == 3 and item["image"].shape == (3, 64, 64) and split.image_size == [64, 64]
    with np.load(path) as archive:
        assert torch.equal(item["image"].permute(1, 2, 0), torch.from_numpy(archive["train_images"][1]))


def test_medmnist_multi_label(tmp_path):
    write_medmnist(tmp_path, "chestmnist", multi_label=14)
    split = medmnist.chestmnist("val", root=str(tmp_path))
    assert split.multi_label and len(split.classes) == 14 and split.classes[0] == "atelectasis"
    label = split.dataset[0]["label"]
    assert label.dtype == torch.float32 and label.shape == (14,) and set(label.tolist()) <= {0.0, 1.0}


def test_medmnist_missing_or_foreign_files_say_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"pneumoniamnist_128\.npz.*zenodo\.org/records/10519652.*download"):
        medmnist.pneumoniamnist("train", root=str(tmp_path), size=128)
    np.savez(tmp_path / "octmnist.npz", images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetNotFoundError, match="lacks train_images, train_labels"):
        medmnist.octmnist("train", root=str(tmp_path))
    write_medmnist(tmp_path, "breastmnist", channels=3)  # colour images where the set is grey
    with pytest.raises(DatasetNotFoundError, match=r"expected uint8 \(N, 28, 28\)"):
        medmnist.breastmnist("train", root=str(tmp_path))
    with pytest.raises(ConfigError, match="not a MedMNIST size"):
        medmnist.breastmnist("train", root=str(tmp_path), size=32)


def _csv_folder(tmp_path, rows):
    rng = np.random.default_rng(0)
    for row in rows:
        write_png(tmp_path / row["image"], rng.integers(0, 256, (20, 24), dtype=np.uint8))
    write_csv(tmp_path / "labels.csv", rows)
    return tmp_path


def test_image_csv_multi_class_with_a_split_column(tmp_path):
    rows = [{"image": f"img/{i}.png", "finding": ["normal", "nodule"][i % 2], "split": ["train", "val"][i // 6]}
            for i in range(9)]
    root = _csv_folder(tmp_path, rows)
    train = folders.image_csv("train", root=str(root), image_size=16)
    val = folders.image_csv("val", root=str(root), image_size=16)
    assert train.classes == ["nodule", "normal"] and len(train.dataset) == 6 and len(val.dataset) == 3
    item = val.dataset[0]
    assert item["image"].shape == (1, 16, 16) and item["image"].dtype == torch.float32
    assert 0 <= float(item["image"].min()) and float(item["image"].max()) <= 1
    assert int(item["label"]) == train.classes.index(rows[6]["finding"])


def test_image_csv_multi_label_and_a_seeded_stratified_split(tmp_path):
    rows = [{"image": f"{i}.png", "mass": str(i % 2), "effusion": ["1", "0", "-1", ""][i % 4]} for i in range(10)]
    root = _csv_folder(tmp_path, rows)
    train = folders.image_csv("train", root=str(root), image_size=8, val_fraction=0.3)
    val = folders.image_csv("val", root=str(root), image_size=8, val_fraction=0.3)
    assert train.multi_label and train.classes == ["mass", "effusion"]
    assert len(train.dataset) + len(val.dataset) == 10 and len(val.dataset) == 3
    labels = torch.stack([train.dataset[i]["label"] for i in range(len(train.dataset))])
    assert set(labels[:, 1].tolist()) <= {0.0, 1.0}  # -1 (uncertain) and blank read as absent


def test_image_csv_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="data.args.root"):
        folders.image_csv("train")
    with pytest.raises(DatasetNotFoundError, match="labels.csv does not exist"):
        folders.image_csv("train", root=str(tmp_path))
    write_csv(tmp_path / "labels.csv", [{"file": "a.png", "label": "x"}, {"file": "b.png", "label": "y"}])
    with pytest.raises(ConfigError, match="no column 'image'.*data.args.image_column"):
        folders.image_csv("train", root=str(tmp_path))
    write_csv(tmp_path / "labels.csv", [{"image": "gone.png", "label": "x"}, {"image": "b.png", "label": "y"}])
    with pytest.raises(DatasetNotFoundError, match="gone.png listed in the labels CSV does not exist"):
        folders.image_csv("train", root=str(tmp_path), val_fraction=0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,label\na.png,x\nb.png\n", "labels.csv line 3 has 1 fields where the header has 2"),
        ("image,label\na.png,x,extra\n", "labels.csv line 2 has 3 fields where the header has 2"),
        ("image,label\na.png,x\nimage,label\nb.png,y\n", "labels.csv line 3 repeats the header"),
    ],
)
def test_a_labels_csv_with_a_malformed_line_names_it(tmp_path, text, message):
    (tmp_path / "labels.csv").write_text(text)
    with pytest.raises(ConfigError, match=message):
        folders.image_csv("train", root=str(tmp_path))
    (tmp_path / "labels.csv").write_bytes(b"image,label\ncaf\xe9.png,x\n")
    with pytest.raises(ConfigError, match="labels.csv is not UTF-8"):
        folders.image_csv("train", root=str(tmp_path))


def _mask_folder(tmp_path, values: list[int], count: int = 5):
    rng = np.random.default_rng(1)
    for i in range(count):
        write_png(tmp_path / "images" / f"case{i}.png", rng.integers(0, 256, (24, 32), dtype=np.uint8))
        mask = np.zeros((24, 32), np.uint8)
        mask[4:10, 5:12] = values[0]
        mask[14:20, 20:30] = values[-1]
        write_png(tmp_path / "masks" / f"case{i}.png", mask)
    return tmp_path


def test_mask_folder_binary_masks_saved_as_255(tmp_path):
    root = _mask_folder(tmp_path, [255])
    train = folders.mask_folder("train", root=str(root), val_fraction=0.4)
    val = folders.mask_folder("val", root=str(root), val_fraction=0.4)
    assert len(train.dataset) == 3 and len(val.dataset) == 2 and train.mask_classes == ["background", "foreground"]
    item = train.dataset[0]
    assert item["image"].shape == (1, 24, 32) and item["mask"].shape == (24, 32)
    assert set(item["mask"].unique().tolist()) == {0, 1} and int(item["mask"].sum()) == 6 * 7 + 6 * 10


def test_mask_folder_multi_class_resized(tmp_path):
    root = _mask_folder(tmp_path, [1, 2])
    split = folders.mask_folder("train", root=str(root), classes=["background", "liver", "tumour"], image_size=[12, 16])
    item = split.dataset[0]
    assert item["image"].shape == (1, 12, 16) and item["mask"].shape == (12, 16) and split.resize == [12, 16]
    assert set(item["mask"].unique().tolist()) == {0, 1, 2}


def test_mask_folder_errors_name_the_fix(tmp_path):
    root = _mask_folder(tmp_path, [1, 3])
    split = folders.mask_folder("train", root=str(root), classes=["background", "a", "b"])
    with pytest.raises(ZooError, match="holds class 3.*data.args.classes"):
        split.dataset[0]
    write_png(root / "images" / "orphan.png", np.zeros((24, 32), np.uint8))
    with pytest.raises(DatasetNotFoundError, match="have no mask.*orphan.png"):
        folders.mask_folder("train", root=str(root))


def _volumes(count: int = 5, depth: int = 6, size: int = 16):
    rng = np.random.default_rng(2)
    cases = []
    for _ in range(count):
        hu = rng.uniform(-1000, 1000, (depth, size, size)).astype(np.float32)
        label = np.zeros((depth, size, size), np.uint8)
        label[1:4, 3:9, 4:12] = 1
        hu[label == 1] = 60.0
        cases.append((hu, label))
    return cases


def test_msd_nifti_as_slices_with_the_ct_window(tmp_path):
    pytest.importorskip("nibabel")
    cases = _volumes()
    root = write_msd(tmp_path, cases, labels={"0": "background", "1": "spleen"})
    train = msd("train", root=str(root), val_fraction=0.4)
    assert train.mask_classes == ["background", "spleen"] and train.intensity == {"mode": "window",
                                                                                   "window": [-160.0, 240.0]}
    assert len(train.dataset) == 3 * 6 and train.spatial_dims == 2 and train.image_size == [16, 16]
    slices = [train.dataset[i] for i in range(len(train.dataset))]
    assert all(s["image"].shape == (1, 16, 16) and s["image"].dtype == torch.uint8 for s in slices)
    organ = [s for s in slices if s["mask"].any()]
    assert len(organ) == 3 * 3  # slices 1-3 of each volume
    values = organ[0]["image"][0][organ[0]["mask"] == 1]
    assert torch.all(values == round((60 + 160) / 400 * 255))  # 60 HU in the [-160, 240] window


def test_msd_volumes_in_3d_and_without_dataset_json(tmp_path):
    pytest.importorskip("nibabel")
    root = write_msd(tmp_path, _volumes(count=3), with_json=False)
    split = msd("val", root=str(root), spatial_dims=3, val_fraction=0.34, intensity="zscore")
    item = split.dataset[0]
    assert split.spatial_dims == 3 and item["image"].shape == (1, 6, 16, 16) and item["mask"].shape == (6, 16, 16)
    assert split.mask_classes == ["background", "class_1"] and split.mean == (0.0,)
    assert abs(float(item["image"].float()[item["image"] != 0].mean())) < 0.1


def test_msd_errors(tmp_path):
    pytest.importorskip("nibabel")
    with pytest.raises(DatasetNotFoundError, match="imagesTr"):
        msd("train", root=str(tmp_path))
    root = write_msd(tmp_path / "x", _volumes(count=2))
    meta = json.loads((root / "dataset.json").read_text())
    meta["training"].append({"image": "./imagesTr/gone.nii.gz", "label": "./labelsTr/gone.nii.gz"})
    (root / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetNotFoundError, match="gone.nii.gz"):
        msd("train", root=str(root))
