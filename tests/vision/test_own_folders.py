"""The user's own image folder: skipped files reported, real test splits only, photos preprocessed as photos, and
evaluation that matches class names."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.errors import ConfigError, ZooError
from zoo.vision import datasets, transforms

REPO = Path(__file__).resolve().parents[2]


def _photo(path: Path, size=(60, 40), value=0, kind="JPEG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    array = (rng.integers(0, 40, (size[1], size[0], 3)) + value).clip(0, 255).astype(np.uint8)
    Image.fromarray(array).save(path, kind)


def _folder(root: Path, per_class: int = 6, classes=("ant", "bee")) -> Path:
    for c, name in enumerate(classes):
        for i in range(per_class):
            _photo(root / name / f"{i}.jpg", value=200 * c + i)
    return root


def test_a_gif_a_corrupt_file_and_a_stray_folder_are_reported(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    Image.new("RGB", (8, 8)).save(root / "ant" / "moving.gif")
    (root / "bee" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("about the photos")
    (root / "list.csv").write_text("a,b\n")

    train = datasets.image_folder("train", root=str(root))
    val = datasets.image_folder("val", root=str(root))

    assert train.classes == ["ant", "bee"] and len(train.dataset) + len(val.dataset) == 12
    skipped = {reason: [Path(p).name for p in paths] for reason, paths in train.dataset.skipped.items()}
    assert skipped == {
        "files outside the class folders": ["list.csv"],
        "files that are not jpg/jpeg/png/ppm/bmp/pgm/tif/tiff/webp images": ["moving.gif"],
        "images that cannot be read": ["broken.jpg"],
        "folders without images (not classes)": ["notes"],
    }


def test_a_run_on_the_folder_says_what_it_skipped_in_its_log_and_summary(tmp_path: Path) -> None:
    root = _folder(tmp_path / "photos", per_class=5)
    Image.new("RGB", (8, 8)).save(root / "ant" / "moving.gif")
    (root / "stray").mkdir()
    run = tmp_path / "run"
    command = [sys.executable, "-m", "zoo.train", "--task", "vision", "--dataset", "image_folder",
               f"data.args.root={root}", "--output", str(run), "trainer.max_steps=2", "trainer.progress=false",
               "trainer.tensorboard=false"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("threads: ")
    skipped = [line for line in lines if line.startswith("skipped: ")]
    assert len(skipped) == 1 and "2 in all" in skipped[0] and "moving.gif" in skipped[0]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["data"]["skipped"]["counts"] == {
        "files that are not jpg/jpeg/png/ppm/bmp/pgm/tif/tiff/webp images": 1,
        "folders without images (not classes)": 1,
    }
    assert "data.args.image_size" in summary["data"]["adapted"]

    # evaluate: no test split there, then a folder whose classes differ by name
    evaluate = [sys.executable, "-m", "zoo", "evaluate", "--checkpoint", str(run), "--no-report"]
    result = subprocess.run([*evaluate, "--split", "test"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "has no test split (its splits: train, val)" in result.stderr and "test_fraction" in result.stderr
    other = _folder(tmp_path / "other", per_class=3, classes=("ant", "wasp"))
    result = subprocess.run([*evaluate, f"data.args.root={other}"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not in the checkpoint: wasp; not in the data: bee" in result.stderr


def test_a_test_folder_or_a_seeded_fraction_makes_a_test_split(tmp_path: Path) -> None:
    root = _folder(tmp_path / "fixed" / "train")
    _folder(tmp_path / "fixed" / "val", per_class=2)
    _folder(tmp_path / "fixed" / "test", per_class=3)
    assert len(datasets.image_folder("test", root=str(tmp_path / "fixed")).dataset) == 6
    root = _folder(tmp_path / "one", per_class=10)
    parts = {s: datasets.image_folder(s, root=str(root), test_fraction=0.2) for s in ("train", "val", "test")}
    files = [{p for p, _ in parts[s].dataset.samples} for s in parts]
    assert [len(f) for f in files] == [12, 4, 4] and not (files[0] & files[1] or files[0] & files[2] or files[1] & files[2])
    with pytest.raises(ConfigError, match=r"has no test split \(its splits: train, val\)"):
        datasets.image_folder("test", root=str(root))


def test_photos_keep_their_aspect_and_jpegs_decode_no_more_than_needed(tmp_path: Path) -> None:
    _photo(tmp_path / "a" / "big.jpg", size=(1600, 1200), value=10)
    _photo(tmp_path / "a" / "big2.jpg", size=(1600, 1200), value=11)
    _photo(tmp_path / "b" / "wide.png", size=(300, 100), value=90, kind="PNG")
    _photo(tmp_path / "b" / "wide2.png", size=(300, 100), value=91, kind="PNG")
    assert datasets.read_image(tmp_path / "a" / "big.jpg", 3, 64).shape == (3, 150, 200)  # 1/8 scale in draft mode
    train = datasets.image_folder("train", root=str(tmp_path), val_fraction=0.5, image_size=32)
    val = datasets.image_folder("val", root=str(tmp_path), val_fraction=0.5, image_size=32)
    shapes = {Path(p).suffix: tuple(train.dataset[i][0].shape) for i, (p, _) in enumerate(train.dataset.samples)}
    assert shapes == {".jpg": (3, 40, 53), ".png": (3, 40, 120)}  # shorter side 1.25 x 32, aspect kept
    assert all(tuple(image.shape) == (3, 32, 32) for image, _ in val.dataset)  # resize + centre crop
    augment = transforms.train_transform(32, (0.5,) * 3, (0.5,) * 3, crop_padding=2, hflip=True)
    torch.manual_seed(0)
    assert augment(train.dataset[0][0]).shape == (3, 32, 32)
    assert transforms.load_image(tmp_path / "b" / "wide.png", 3, 32).shape == (3, 32, 32)


def test_photos_are_decoded_once_and_kept_within_the_cache_budget(tmp_path: Path) -> None:
    """Every epoch after the first reads the decoded, resized photo from memory, not the file; past the budget, the
    file is decoded on each access as before."""
    for i in range(2):
        _photo(tmp_path / "a" / f"p{i}.jpg", size=(400, 300), value=10 + i)
        _photo(tmp_path / "b" / f"q{i}.jpg", size=(400, 300), value=90 + i)
    samples = [(str(p), int(p.parent.name == "b")) for p in sorted(tmp_path.glob("*/*.jpg"))]
    cached = datasets.ImageFileDataset(samples, image_size=32, channels=3, train=True)
    uncached = datasets.ImageFileDataset(samples, image_size=32, channels=3, train=True, cache_mb=0)
    first = [cached[i][0] for i in range(4)]
    assert cached.cache_bytes == sum(image.numel() for image in first) and not uncached.cache
    for path, _ in samples:
        Path(path).unlink()
    assert all(torch.equal(cached[i][0], first[i]) for i in range(4))
    with pytest.raises(ZooError):
        uncached[0]


def test_small_square_images_are_decoded_once_with_their_own_size_and_channels(tmp_path: Path) -> None:
    for c in range(2):
        for i in range(4):
            path = tmp_path / f"digit{c}" / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((28, 28), 100 * c + i, np.uint8), "L").save(path)
    split = datasets.image_folder("train", root=str(tmp_path))
    assert (split.image_size, split.channels) == (28, 1)
    assert isinstance(split.dataset, datasets.DecodedImages) and split.dataset.tensors[0].shape == (6, 1, 28, 28)
    assert split.dataset.fitted["data.args.image_size"][1] == 28
