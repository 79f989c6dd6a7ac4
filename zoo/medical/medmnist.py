"""MedMNIST v2 / MedMNIST+ (Yang et al., 2023) from the upstream ``.npz`` files.

Each file holds ``train_images``, ``train_labels``, ``val_images``, ``val_labels``, ``test_images``, ``test_labels``:
images uint8 (N, H, W) for grey sets or (N, H, W, 3) for colour ones, labels (N, 1) class indices, or (N, 14) 0/1
flags for the multi-label ChestMNIST. Sizes 64, 128 and 224 (MedMNIST+) live in ``<flag>_<size>.npz``; 28 in
``<flag>.npz``. Files are looked for in ``data.args.root``, else ``$ZOO_DATA/medmnist``, else the ``medmnist``
package's own ``~/.medmnist``. Images are normalised with mean 0.5 and std 0.5, as MedMNIST's examples do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.medical.data import ArrayDataset, MedicalSplit, canonical_split
from zoo.paths import data_dir

URL = "https://zenodo.org/records/10519652/files/{file}?download=1"
SIZES = (28, 64, 128, 224)
_ORGANS = ("bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
           "lung-right", "pancreas", "spleen")


@dataclass(frozen=True)
class Flag:
    """One MedMNIST set as its ``INFO`` describes it; ``md5`` per image size, checked on download."""

    labels: tuple[str, ...]
    channels: int
    task: str  # binary-class, multi-class, multi-label or ordinal-regression (trained as multi-class)
    md5: tuple[str, str, str, str]
    license: str = "CC BY 4.0"

    @property
    def multi_label(self) -> bool:
        return self.task == "multi-label"


FLAGS: dict[str, Flag] = {
    "pathmnist": Flag(
        ("adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle", "normal colon mucosa",
         "cancer-associated stroma", "colorectal adenocarcinoma epithelium"), 3, "multi-class",
        ("a8b06965200029087d5bd730944a56c1", "55aa9c1e0525abe5a6b9d8343a507616", "ac42d08fb904d92c244187169d1fd1d9",
         "2c51a510bcdc9cf8ddb2af93af1eadec")),
    "chestmnist": Flag(
        ("atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia", "pneumothorax",
         "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"), 1, "multi-label",
        ("02c8a6516a18b556561a56cbdd36c4a8", "9de6cd0b934ebb5b7426cfba5efbae16", "db107e5590b27930b62dbaf558aebee3",
         "45bd33e6f06c3e8cdb481c74a89152aa")),
    "dermamnist": Flag(
        ("actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma", "benign keratosis-like lesions",
         "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions"), 3, "multi-class",
        ("0744692d530f8e62ec473284d019b0c7", "b70a2f5635c6199aeaa28c31d7202e1f", "2defd784463fa5243564e855ed717de1",
         "8974907d8e169bef5f5b96bc506ae45d"), license="CC BY-NC 4.0"),
    "octmnist": Flag(
        ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"), 1, "multi-class",
        ("c68d92d5b585d8d81f7112f81e2d0842", "e229e9440236b774d9f0dfef9d07bdaf", "0a97e76651ace45c5d943ee3f65b63ae",
         "abc493b6d529d5de7569faaef2773ba3")),
    "pneumoniamnist": Flag(
        ("normal", "pneumonia"), 1, "binary-class",
        ("28209eda62fecd6e6a2d98b1501bb15f", "8f4eceb4ccffa70c672198ea285246c6", "05b46931834c231683c68f40c47b2971",
         "d6a3c71de1b945ea11211b03746c1fe1")),
    "retinamnist": Flag(
        ("0", "1", "2", "3", "4"), 3, "ordinal-regression",
        ("bd4c0672f1bba3e3a89f0e4e876791e4", "afda852cc34dcda56f86ad2b2457dbcc", "e48e916a24454daf90583d4e6efb1a18",
         "eae7e3b6f3fcbda4ae613ebdcbe35348")),
    "breastmnist": Flag(
        ("malignant", "normal, benign"), 1, "binary-class",
        ("750601b1f35ba3300ea97c75c52ff8f6", "742edef2a1fd1524b2efff4bd7ba9364", "363e4b3f8d712e9b5de15470a2aaadf1",
         "b56378a6eefa9fed602bb16d192d4c8b")),
    "bloodmnist": Flag(
        ("basophil", "eosinophil", "erythroblast",
         "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)", "lymphocyte", "monocyte",
         "neutrophil", "platelet"), 3, "multi-class",
        ("7053d0359d879ad8a5505303e11de1dc", "2b94928a2ae4916078ca51e05b6b800b", "adace1e0ed228fccda1f39692059dd4c",
         "b718ff6835fcbdb22ba9eacccd7b2601")),
    "tissuemnist": Flag(
        ("Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule", "Glomerular endothelial cells",
         "Interstitial endothelial cells", "Leukocytes", "Podocytes", "Proximal Tubule Segments",
         "Thick Ascending Limb"), 1, "multi-class",
        ("ebe78ee8b05294063de985d821c1c34b", "123ece2eba09d0aa5d698fda57103344", "61b955355d7425a89687b06cca3ce0c2",
         "b077128c4a949f0a4eb01517f9037b9c")),
    "organamnist": Flag(
        _ORGANS, 1, "multi-class",
        ("68e3f8846a6bd62f0c9bf841c0d9eacc", "2dcccc29b88e6da5a01161ef20cda288", "eeae80d0a227a8d099027e1b3cfd3b60",
         "50747347e05c87dd3aaf92c49f9f3170")),
    "organcmnist": Flag(
        _ORGANS, 1, "multi-class",
        ("b9ceb9546e10131b32923c5bbeaea2b1", "3ce34a8724ea6f548e6db4744d03b6a9", "773c1f009daa3fe5d9a2a201b2a7ed94",
         "050f5e875dc056f6768abf94ec9995d1")),
    "organsmnist": Flag(
        _ORGANS, 1, "multi-class",
        ("9ab87b696fb54e2a387ebe992d6ed5f1", "53a6d115339d874c25e309a994ff46d3", "ded0c5fa01a95dc4978b956f613e9b8e",
         "b354719e553fbbb2513d5533f52a4cb1")),
}


def file_name(flag: str, size: int) -> str:
    return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"


def _candidates(root: str | None) -> list[Path]:
    if root is not None:
        return [Path(root).expanduser()]
    return [data_dir() / "medmnist", Path.home() / ".medmnist"]


def load(flag: str, split: str, root: str | None = None, download: bool = False, size: int = 28) -> MedicalSplit:
    """One split of a MedMNIST set; ``download=True`` fetches the file from Zenodo and checks its MD5."""
    info = FLAGS[flag]
    split = canonical_split(split, flag)
    if size not in SIZES:
        raise ConfigError(f"data.args.size={size!r} is not a MedMNIST size; valid: {', '.join(map(str, SIZES))}")
    name = file_name(flag, size)
    folders = _candidates(root)
    path = next((folder / name for folder in folders if (folder / name).is_file()), None)
    if path is None and download:
        path = _download(flag, size, folders[0])
    if path is None:
        raise DatasetNotFoundError(
            f"{flag} file {name} not found in {' or '.join(str(f) for f in folders)}. Download it from "
            f"{URL.format(file=name)} into {folders[0]} (or set data.args.root=DIR), or set data.args.download=true."
        )
    images, labels = _read(path, flag, split, info, size)
    if info.multi_label:
        targets = torch.from_numpy(labels.astype(np.float32))
    else:
        targets = torch.from_numpy(labels.reshape(-1).astype(np.int64))
    return MedicalSplit(
        dataset=ArrayDataset(images, targets),
        name=flag,
        channels=info.channels,
        classes=list(info.labels),
        multi_label=info.multi_label,
        image_size=[size, size],
        mean=(0.5,) * info.channels,
        std=(0.5,) * info.channels,
    )


def _read(path: Path, flag: str, split: str, info: Flag, size: int) -> tuple[torch.Tensor, np.ndarray]:
    keys = (f"{split}_images", f"{split}_labels")
    try:
        with np.load(path) as archive:
            files = list(archive.files)
            arrays = [archive[k] for k in keys if k in files]
    except (OSError, ValueError) as error:
        raise DatasetNotFoundError(f"{path} is not a readable .npz file ({error}); download it again") from error
    if len(arrays) < 2:
        missing = [k for k in keys if k not in files]
        raise DatasetNotFoundError(f"{path} lacks {', '.join(missing)} (it holds {', '.join(files) or 'nothing'}); "
                                   f"it is not a MedMNIST file: download {URL.format(file=path.name)} again")
    images, labels = arrays
    expected = (size, size) if info.channels == 1 else (size, size, 3)
    if images.dtype != np.uint8 or tuple(images.shape[1:]) != expected:
        raise DatasetNotFoundError(f"{path}: {keys[0]} is {images.dtype} {tuple(images.shape)}, expected uint8 "
                                   f"(N, {', '.join(map(str, expected))}) for {flag} at size {size}")
    width = len(info.labels) if info.multi_label else 1
    if labels.ndim != 2 or labels.shape != (len(images), width):
        raise DatasetNotFoundError(f"{path}: {keys[1]} has shape {tuple(labels.shape)}, expected ({len(images)}, "
                                   f"{width})")
    if not info.multi_label and (labels.min() < 0 or labels.max() >= len(info.labels)):
        raise DatasetNotFoundError(f"{path}: {keys[1]} holds labels outside 0..{len(info.labels) - 1}")
    tensor = torch.from_numpy(images)
    tensor = tensor.unsqueeze(1) if info.channels == 1 else tensor.permute(0, 3, 1, 2)
    return tensor.contiguous(), labels


def _download(flag: str, size: int, folder: Path) -> Path:
    from torchvision.datasets.utils import download_url

    name = file_name(flag, size)
    try:
        download_url(URL.format(file=name), str(folder), filename=name, md5=FLAGS[flag].md5[SIZES.index(size)])
    except (OSError, RuntimeError) as error:
        raise DatasetNotFoundError(f"downloading {URL.format(file=name)} into {folder} failed ({error}); "
                                   f"download it by hand into {folder}") from error
    return folder / name


def _loader(flag: str) -> Any:
    def loader(split: str, root: str | None = None, download: bool = False, size: int = 28) -> MedicalSplit:
        return load(flag, split, root, download, size)

    loader.__name__ = loader.__qualname__ = flag
    loader.__doc__ = f"MedMNIST {flag} ({FLAGS[flag].task}, {FLAGS[flag].channels} channel(s)) at ``size`` pixels."
    return loader


pathmnist = _loader("pathmnist")
chestmnist = _loader("chestmnist")
dermamnist = _loader("dermamnist")
octmnist = _loader("octmnist")
pneumoniamnist = _loader("pneumoniamnist")
retinamnist = _loader("retinamnist")
breastmnist = _loader("breastmnist")
bloodmnist = _loader("bloodmnist")
tissuemnist = _loader("tissuemnist")
organamnist = _loader("organamnist")
organcmnist = _loader("organcmnist")
organsmnist = _loader("organsmnist")
