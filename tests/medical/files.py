"""Tiny files in the exact upstream formats, written by the tests that read them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_medmnist(folder: Path, flag: str, size: int = 28, channels: int = 1, labels: int = 2,
                   multi_label: int = 0, counts: tuple[int, int, int] = (12, 4, 6), seed: int = 0) -> Path:
    """A MedMNIST .npz: uint8 images (N, H, W[, 3]) and labels (N, 1), or (N, K) 0/1 flags when ``multi_label=K``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in zip(("train", "val", "test"), counts):
        shape = (n, size, size) if channels == 1 else (n, size, size, 3)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        if multi_label:
            arrays[f"{split}_labels"] = rng.integers(0, 2, (n, multi_label), dtype=np.uint8)
        else:
            arrays[f"{split}_labels"] = rng.integers(0, labels, (n, 1), dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz")
    np.savez_compressed(path, **arrays)
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_dicom(path: Path, pixels: np.ndarray, position: float = 0.0, instance: int = 1, modality: str = "CT",
                slope: float = 1.0, intercept: float = -1024.0, window: tuple[float, float] | None = (40, 400),
                series: str = "1.2.826.0.1.3680043.8.498.1") -> Path:
    """A single-frame uint16 DICOM file, stored pixels ``(HU - intercept) / slope`` as a scanner writes them."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID, ds.InstanceNumber = modality, series, instance
    ds.ImagePositionPatient = [0.0, 0.0, position]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing, ds.SliceThickness = [0.8, 0.8], 2.5
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(str(path), enforce_file_format=True)
    return path


def write_msd(root: Path, volumes: list[tuple[np.ndarray, np.ndarray]], modality: str = "CT",
              labels: dict[str, str] | None = None, with_json: bool = True) -> Path:
    """A Decathlon-layout folder: imagesTr/ and labelsTr/ NIfTI files of (D, H, W) arrays, and dataset.json."""
    import nibabel

    for folder in ("imagesTr", "labelsTr"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    training = []
    for i, (image, label) in enumerate(volumes):
        name = f"case_{i:03d}.nii.gz"
        nibabel.save(nibabel.Nifti1Image(image.T.astype(np.float32), np.eye(4)), str(root / "imagesTr" / name))
        nibabel.save(nibabel.Nifti1Image(label.T.astype(np.uint8), np.eye(4)), str(root / "labelsTr" / name))
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    if with_json:
        meta = {"name": "tiny", "modality": {"0": modality},
                "labels": labels or {"0": "background", "1": "organ"}, "numTraining": len(training),
                "training": training, "test": []}
        (root / "dataset.json").write_text(json.dumps(meta))
    return root
