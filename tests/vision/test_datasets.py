"""The vision loaders read the exact upstream file formats, and say what to do when the files are not there."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from zoo import paths
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.vision import datasets

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# --- upstream formats ---------------------------------------------------------------------------------------------


def _cifar_pixels(count: int, seed: int) -> np.ndarray:
    """Rows of 3072 bytes: 1024 red, then 1024 green, then 1024 blue, each plane row-major 32x32."""
    return np.random.default_rng(seed).integers(0, 256, size=(count, 3072), dtype=np.uint8)


def _dump(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def _write_cifar10(root: Path, per_batch: int = 3) -> dict[str, dict]:
    """The files of cifar-10-python.tar.gz; keys are str, as Python 2's pickles read under encoding='latin1'."""
    folder = root / "cifar-10-batches-py"
    batches = {}
    for seed, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        entry = {
            "batch_label": f"{name} of 6",
            "labels": [(seed + i) % 10 for i in range(per_batch)],
            "data": _cifar_pixels(per_batch, seed),
            "filenames": [f"img_{seed}_{i}.png" for i in range(per_batch)],
        }
        _dump(folder / name, entry)
        batches[name] = entry
    _dump(folder / "batches.meta", {"num_cases_per_batch": per_batch, "label_names": CIFAR10_NAMES, "num_vis": 3072})
    return batches


def _write_cifar100(root: Path) -> dict[str, dict]:
    """The files of cifar-100-python.tar.gz: train, test and meta with fine and coarse label names."""
    folder = root / "cifar-100-python"
    fine = [f"fine_{i:02d}" for i in range(100)]
    coarse = [f"coarse_{i:02d}" for i in range(20)]
    files = {}
    for seed, (name, count) in enumerate([("train", 4), ("test", 2)]):
        entry = {
            "filenames": [f"img_{i}.png" for i in range(count)],
            "batch_label": f"{name} batch 1 of 1",
            "fine_labels": [97 - 3 * i - seed for i in range(count)],
            "coarse_labels": [i % 20 for i in range(count)],
            "data": _cifar_pixels(count, 100 + seed),
        }
        _dump(folder / name, entry)
        files[name] = entry
    _dump(folder / "meta", {"fine_label_names": fine, "coarse_label_names": coarse})
    return files


def _idx_bytes(array: np.ndarray) -> bytes:
    """An idx file: big-endian magic (2051 images, 2049 labels), big-endian int32 sizes, then the uint8 bytes."""
    magic = {3: 2051, 1: 2049}[array.ndim]
    return struct.pack(">i", magic) + struct.pack(f">{array.ndim}i", *array.shape) + array.astype(np.uint8).tobytes()


def _write_idx_pair(raw: Path, prefix: str, images: np.ndarray, labels: np.ndarray, compressed: bool) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        data = _idx_bytes(array)
        path = raw / f"{prefix}-{kind}-ubyte"
        if compressed:
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))
        else:
            path.write_bytes(data)


def _write_mnist_like(root: Path, folder_name: str, compressed: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    splits = {}
    for prefix, count in (("train", 5), ("t10k", 3)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = np.arange(count, dtype=np.uint8) * 3 % 10
        _write_idx_pair(root / folder_name / "raw", prefix, images, labels, compressed)
        splits[prefix] = (images, labels)
    return splits


@pytest.fixture
def user_made_cifar_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision always checks the upstream md5 of every CIFAR file; files made here cannot match it."""
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


# --- CIFAR --------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("user_made_cifar_files")
def test_cifar10_round_trips_pixels_labels_and_class_names(tmp_path: Path) -> None:
    batches = _write_cifar10(tmp_path)
    train = datasets.cifar10("train", root=str(tmp_path))
    val = datasets.cifar10("val", root=str(tmp_path))

    assert len(train.dataset) == 15 and len(val.dataset) == 3
    assert train.classes == CIFAR10_NAMES
    assert (train.channels, train.image_size) == (3, 32)
    assert train.mean == (0.4914, 0.4822, 0.4465) and train.std == (0.2470, 0.2435, 0.2616)

    image, label = val.dataset[1]
    test_batch = batches["test_batch"]
    assert image.dtype == torch.uint8 and image.shape == (3, 32, 32)
    assert label == test_batch["labels"][1] and isinstance(label, int)
    row = test_batch["data"][1]
    assert image[2, 5, 7].item() == row[2 * 1024 + 5 * 32 + 7]  # blue plane, row 5, column 7
    assert torch.equal(image, torch.from_numpy(row.reshape(3, 32, 32)))

    image, label = train.dataset[3]  # first image of data_batch_2
    assert torch.equal(image, torch.from_numpy(batches["data_batch_2"]["data"][0].reshape(3, 32, 32)))
    assert label == batches["data_batch_2"]["labels"][0]


@pytest.mark.usefixtures("user_made_cifar_files")
def test_cifar100_reads_fine_labels_and_names(tmp_path: Path) -> None:
    files = _write_cifar100(tmp_path)
    train = datasets.cifar100("train", root=str(tmp_path))
    test = datasets.cifar100("test", root=str(tmp_path))

    assert len(train.dataset) == 4 and len(test.dataset) == 2
    assert train.classes[:2] == ["fine_00", "fine_01"] and len(train.classes) == 100
    assert train.mean == (0.5071, 0.4865, 0.4409)
    image, label = test.dataset[1]
    assert label == files["test"]["fine_labels"][1]
    assert image[0, 31, 0].item() == files["test"]["data"][1][31 * 32]  # red plane, last row, first column
    assert torch.equal(image, torch.from_numpy(files["test"]["data"][1].reshape(3, 32, 32)))


def test_cifar_files_failing_the_upstream_checksum_are_reported(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="checksum") as caught:
        datasets.cifar10("train", root=str(tmp_path))
    assert str(tmp_path / "cifar-10-batches-py") in str(caught.value)


def test_missing_cifar_files_name_the_files_the_folder_and_the_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        datasets.cifar10("train", root=str(tmp_path))
    message = str(caught.value)
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "data_batch_1" in message and "test_batch" in message and "batches.meta" in message
    assert torchvision.datasets.CIFAR10.url in message
    assert "data.args.download=true" in message


def test_a_failed_download_is_reported_with_the_manual_instructions(tmp_path: Path, monkeypatch) -> None:
    def offline(self) -> None:
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets.CIFAR100, "download", offline)
    with pytest.raises(DatasetNotFoundError, match="no network") as caught:
        datasets.cifar100("train", root=str(tmp_path), download=True)
    assert torchvision.datasets.CIFAR100.url in str(caught.value)
    assert str(tmp_path / "cifar-100-python") in str(caught.value)


def test_default_root_is_under_zoo_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "cifar10" / "cifar-10-batches-py")):
        datasets.cifar10("train")


# --- MNIST / Fashion-MNIST -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize(
    ("loader", "folder_name", "mean"),
    [(datasets.mnist, "MNIST", (0.1307,)), (datasets.fashion_mnist, "FashionMNIST", (0.2860,))],
    ids=["mnist", "fashion_mnist"],
)
def test_mnist_family_round_trips_idx_files(tmp_path: Path, loader, folder_name: str, mean, compressed: bool) -> None:
    written = _write_mnist_like(tmp_path, folder_name, compressed)
    train = loader("train", root=str(tmp_path))
    val = loader("val", root=str(tmp_path))

    assert len(train.dataset) == 5 and len(val.dataset) == 3
    assert (train.channels, train.image_size, train.mean) == (1, 28, mean)
    assert train.classes == list(getattr(torchvision.datasets, folder_name).classes)
    images, labels = written["t10k"]
    image, label = val.dataset[2]
    assert image.dtype == torch.uint8 and image.shape == (1, 28, 28)
    assert image[0, 13, 21].item() == images[2, 13, 21]
    assert torch.equal(image[0], torch.from_numpy(images[2]))
    assert label == labels[2] and isinstance(label, int)
    assert torch.equal(train.dataset.images[:, 0], torch.from_numpy(written["train"][0]))


def test_missing_mnist_files_name_the_files_the_folder_and_the_urls(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        datasets.mnist("val", root=str(tmp_path))
    message = str(caught.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert f"{torchvision.datasets.MNIST.mirrors[0]}t10k-images-idx3-ubyte.gz" in message
    assert "data.args.download=true" in message


def test_a_failed_mnist_download_is_a_dataset_not_found_error(tmp_path: Path, monkeypatch) -> None:
    def offline(self) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried http://a, got:\nHTTP Error 404")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", offline)
    with pytest.raises(DatasetNotFoundError, match="Error downloading") as caught:
        datasets.fashion_mnist("train", root=str(tmp_path), download=True)
    message = str(caught.value)
    assert torchvision.datasets.FashionMNIST.mirrors[0] in message and "\n" not in message
    assert "or set data.args.download=true" not in message and "data.args.download=true is set" in message


def test_real_mnist_test_set(tmp_path: Path) -> None:
    source = SHARED_DATA / "vision" / "mnist" / "raw"
    files = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    if not all((source / name).is_file() for name in files):
        pytest.skip(f"real MNIST test files not in {source}")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in files:
        (raw / name).symlink_to(source / name)

    split = datasets.mnist(split="val", root=str(tmp_path))

    assert len(split.dataset) == 10_000
    image, label = split.dataset[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.uint8
    labels = split.dataset.labels
    assert labels.min() >= 0 and labels.max() <= 9
    assert set(labels.tolist()) == set(range(10))
    assert int(split.dataset.images.max()) == 255


# --- splits -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loader", [datasets.cifar10, datasets.mnist, datasets.image_folder])
def test_unknown_split_names_the_valid_ones(loader, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train, val"):
        loader("validation", root=str(tmp_path))


# --- the user's own folders ---------------------------------------------------------------------------------------


def _save(path: Path, mode: str, size: tuple[int, int], value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    array = np.full((size[1], size[0], channels), value, dtype=np.uint8)
    Image.fromarray(array.squeeze(-1) if channels == 1 else array, mode).save(path)


def _write_class_folders(root: Path, classes: dict[str, int]) -> None:
    modes = ["L", "RGB", "RGBA"]
    for index, (name, count) in enumerate(classes.items()):
        for i in range(count):
            _save(root / name / f"{i:02d}.png", modes[i % 3], (20 + 7 * i, 30 + 5 * index), 10 * index + i)


def test_image_folder_with_train_and_val_subfolders(tmp_path: Path) -> None:
    _write_class_folders(tmp_path / "train", {"cat": 3, "dog": 2})
    _write_class_folders(tmp_path / "val", {"cat": 1, "dog": 1, "emu": 1})

    train = datasets.image_folder("train", root=str(tmp_path), image_size=16)
    val = datasets.image_folder("val", root=str(tmp_path), image_size=16, channels=1)

    assert train.classes == val.classes == ["cat", "dog", "emu"]
    assert len(train.dataset) == 5 and len(val.dataset) == 3
    assert [label for _, label in val.dataset] == [0, 1, 2]
    assert (train.channels, train.image_size, train.mean, train.std) == (3, 16, (0.5,) * 3, (0.5,) * 3)
    assert val.mean == (0.5,)
    for image, _ in train.dataset:  # aspect kept, the shorter side a little above the crop; the transform crops
        assert image.dtype == torch.uint8 and image.shape[0] == 3 and min(image.shape[1:]) == 20
    grey, _ = val.dataset[1]
    assert grey.shape == (1, 16, 16) and int(grey.float().mean().round()) == 10


def test_image_folder_converts_grey_and_drops_alpha(tmp_path: Path) -> None:
    _save(tmp_path / "a" / "grey.png", "L", (9, 5), 77)
    _save(tmp_path / "a" / "rgba.png", "RGBA", (4, 4), 200)
    _save(tmp_path / "b" / "rgb.bmp", "RGB", (6, 3), 33)
    _save(tmp_path / "b" / "rgb.png", "RGB", (3, 6), 44)

    split = datasets.image_folder("val", root=str(tmp_path), image_size=8, val_fraction=0.5)
    items = {split.dataset.samples[i][0]: split.dataset[i] for i in range(len(split.dataset))}
    for path, (image, _) in items.items():
        assert image.shape == (3, 8, 8) and image.dtype == torch.uint8
        expected = {"grey.png": 77, "rgba.png": 200, "rgb.bmp": 33, "rgb.png": 44}[Path(path).name]
        assert torch.all(image == expected)


def test_image_folder_single_folder_split_is_stratified_disjoint_and_reproducible(tmp_path: Path) -> None:
    _write_class_folders(tmp_path, {"ant": 10, "bee": 5, "cow": 1})

    train = datasets.image_folder("train", root=str(tmp_path), val_fraction=0.2, seed=3, image_size=12)
    val = datasets.image_folder("val", root=str(tmp_path), val_fraction=0.2, seed=3, image_size=12)
    again = datasets.image_folder("val", root=str(tmp_path), val_fraction=0.2, seed=3)
    other_seed = datasets.image_folder("val", root=str(tmp_path), val_fraction=0.2, seed=4)

    assert train.classes == val.classes == ["ant", "bee", "cow"]
    train_files = {path for path, _ in train.dataset.samples}
    val_files = {path for path, _ in val.dataset.samples}
    every_file = {str(path) for path in tmp_path.rglob("*.png")}
    assert not train_files & val_files and train_files | val_files == every_file
    assert [label for _, label in val.dataset.samples] == [0, 0, 1]  # 2 of 10 ants, 1 of 5 bees, the lone cow trains
    assert again.dataset.samples == val.dataset.samples
    assert other_seed.dataset.samples != val.dataset.samples
    image, label = val.dataset[2]
    assert image.shape == (3, 12, 12) and label == 1
    batch = torch.utils.data.default_collate([val.dataset[i] for i in range(3)])
    assert batch[0].shape == (3, 3, 12, 12)


def test_image_folder_needs_a_root(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.args\.root=PATH"):
        datasets.image_folder("train")


def test_image_folder_missing_or_empty_root_explains_the_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"root/<class>/<image>\.png"):
        datasets.image_folder("train", root=str(tmp_path / "absent"))
    with pytest.raises(DatasetNotFoundError, match="no class subfolders"):
        datasets.image_folder("train", root=str(tmp_path))
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetNotFoundError, match=r"no class subfolders with images.*root/<class>/<image>\.png"):
        datasets.image_folder("train", root=str(tmp_path))


def test_image_folder_rejects_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="channels"):
        datasets.image_folder("train", root=str(tmp_path), channels=4)
    with pytest.raises(ConfigError, match="val_fraction"):
        datasets.image_folder("train", root=str(tmp_path), val_fraction=1.0)


# --- paths --------------------------------------------------------------------------------------------------------


def test_paths_follow_the_environment(tmp_path: Path, monkeypatch) -> None:
    for name in ("ZOO_DATA", "ZOO_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.data_dir() == tmp_path / "xdg" / "zoo" / "data"
    assert paths.cache_dir() == tmp_path / "xdg" / "zoo"
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    assert paths.data_dir() == tmp_path / "data"
    assert paths.cache_dir() == tmp_path / "home"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("ZOO_DATA")
    assert paths.data_dir() == Path.home() / ".cache" / "zoo" / "data"


def test_zoo_paths_does_not_import_torch() -> None:
    code = "import sys, zoo.paths; print(sorted({'torch', 'numpy', 'torchvision'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
