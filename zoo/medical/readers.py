"""Reading medical image files and mapping their intensities to [0, 1] the way each modality needs.

Ordinary images (PNG, JPEG, TIFF) are read with PIL. NIfTI (``.nii``, ``.nii.gz``) needs nibabel and DICOM (``.dcm``,
or a folder holding one series) needs pydicom; both come with ``pip install -e ".[medical]"``.

Intensities (the ``intensity`` spec saved with each checkpoint, so ``predict`` reads new files exactly as the training
files were read):

- ``scale``: divide by the largest value of the file's integer type (8-bit photographs, MedMNIST); files whose
  values are not stored as integers (DICOM in Hounsfield units) are read as ``auto`` reads them;
- ``window`` with ``window: [low, high]``: clip and rescale, for CT in Hounsfield units (abdomen: [-160, 240]);
- ``dicom_window``: the window stored in each DICOM file (WindowCenter/WindowWidth), else ``percentile``;
- ``percentile``: the file's 0.5th-99.5th percentile range, for X-ray and other unit-less scans;
- ``zscore``: zero mean and unit variance over the non-zero voxels, for MRI (as nnU-Net does);
- ``auto``: ``scale`` for 8-bit files, ``dicom_window`` for DICOM, ``percentile`` for the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ConfigError, MissingExtraError, ZooError

INTENSITY_MODES = ("auto", "scale", "window", "dicom_window", "percentile", "zscore")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
DICOM_SUFFIXES = (".dcm", ".dicom")


def intensity_spec(mode: str, window: list[float] | tuple[float, float] | None = None) -> dict[str, Any]:
    """A checked, JSON-ready intensity spec; ``window`` is required by (and only used with) ``mode='window'``."""
    if mode not in INTENSITY_MODES:
        raise ConfigError(f"unknown intensity mode {mode!r}; valid: {', '.join(INTENSITY_MODES)}")
    if mode == "window":
        if window is None or len(window) != 2 or not float(window[0]) < float(window[1]):
            raise ConfigError(f"intensity 'window' needs data.args.window=[low, high] with low < high, got {window!r}")
        return {"mode": mode, "window": [float(window[0]), float(window[1])]}
    return {"mode": mode}


def suffix(path: str | Path) -> str:
    name = str(path).lower()
    return ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix


def is_volume_path(path: str | Path) -> bool:
    """NIfTI files and folders (DICOM series) hold volumes; other files hold one 2D image."""
    return Path(path).is_dir() or suffix(path) in NIFTI_SUFFIXES


def read_image(path: str | Path, channels: int, intensity: dict[str, Any]) -> np.ndarray:
    """A 2D image as float32 (channels, H, W) in about [0, 1] (``zscore``: standardised)."""
    from zoo.inputs import input_file

    path = input_file(path)
    kind = suffix(path)
    if kind in DICOM_SUFFIXES:
        raw, header = read_dicom_file(path)
    elif kind in NIFTI_SUFFIXES:
        raw, header = read_nifti(path)
        raw = raw.squeeze()
        if raw.ndim != 2:
            raise ZooError(f"{path} holds a volume of shape {raw.shape}, not a 2D image; train a 3D model "
                           "(data.args.spatial_dims=3) or pass one slice")
    else:
        raw, header = _read_pil(path, channels), {}
    array = normalise(raw, intensity, header)
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] not in (1, 3):
        array = np.moveaxis(array[..., :3], -1, 0)
    if array.shape[0] != channels:
        array = array.mean(0, keepdims=True) if channels == 1 else np.repeat(array[:1], channels, 0)
    return np.ascontiguousarray(array, dtype=np.float32)


def _read_pil(path: Path, channels: int) -> np.ndarray:
    from zoo.inputs import open_image

    with open_image(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            return np.array(image).astype(np.uint16 if image.mode.startswith("I;16") else np.int32)
        return np.array(image.convert("L" if channels == 1 else "RGB"))


def read_volume(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """A volume (D, H, W) in its stored units and its header (modality, spacing): NIfTI file or DICOM series folder."""
    path = Path(path)
    if path.is_dir():
        return read_dicom_series(path)
    if not path.is_file():
        raise ZooError(f"volume {str(path)!r} does not exist")
    if suffix(path) not in NIFTI_SUFFIXES:
        raise ZooError(f"{path} is not a volume: pass a NIfTI file (.nii, .nii.gz) or a folder of one DICOM series")
    return read_nifti(path)


def read_nifti(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """NIfTI voxels transposed from nibabel's (x, y, z) to (z, y, x), so axis 0 walks the slices."""
    nibabel = _require("nibabel", "NIfTI files")
    try:
        image = nibabel.load(str(path))
        data = np.asarray(image.dataobj)
    except Exception as error:  # nibabel raises several unrelated types for a damaged file
        raise ZooError(f"{path} is not a readable NIfTI file: {error}") from error
    if data.ndim == 4 and data.shape[-1] == 1:
        data = data[..., 0]
    spacing = [float(s) for s in image.header.get_zooms()[:3]][::-1]
    return np.ascontiguousarray(data.T), {"spacing": spacing, "affine": image.affine.tolist()}


def write_nifti(path: str | Path, volume: np.ndarray, affine: list | None = None) -> None:
    """Write a (D, H, W) volume back in nibabel's (x, y, z) order, with the source's affine when known."""
    nibabel = _require("nibabel", "NIfTI files")
    matrix = np.asarray(affine, dtype=np.float64) if affine is not None else np.eye(4)
    nibabel.save(nibabel.Nifti1Image(np.ascontiguousarray(volume.T), matrix), str(path))


def read_dicom_file(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """One DICOM file's pixels in stored units (CT: Hounsfield units, after RescaleSlope/Intercept)."""
    pydicom = _require("pydicom", "DICOM files")
    try:
        ds = pydicom.dcmread(str(path))
        pixels = ds.pixel_array.astype(np.float32)
    except Exception as error:  # pydicom raises several unrelated types for a damaged or compressed file
        raise ZooError(f"{path} is not a readable DICOM image ({error}); compressed transfer syntaxes need "
                       "pylibjpeg or GDCM installed") from error
    pixels = pixels * float(getattr(ds, "RescaleSlope", 1) or 1) + float(getattr(ds, "RescaleIntercept", 0) or 0)
    header: dict[str, Any] = {"modality": str(getattr(ds, "Modality", ""))}
    center, width = getattr(ds, "WindowCenter", None), getattr(ds, "WindowWidth", None)
    if center is not None and width is not None:
        first = lambda v: float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)  # noqa: E731
        header["window"] = [first(center) - first(width) / 2, first(center) + first(width) / 2]
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":  # bright means low: flip to the usual sense
        pixels = pixels.max() + pixels.min() - pixels
    return pixels, header


def read_dicom_series(folder: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """The slices of one series in a folder, ordered along the slice normal (else by InstanceNumber)."""
    pydicom = _require("pydicom", "DICOM series")
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    slices = []
    for file in files:
        try:
            ds = pydicom.dcmread(str(file), stop_before_pixels=True)
        except Exception:  # not DICOM: a DICOMDIR, a readme; skipped
            continue
        if "ImagePositionPatient" in ds or "InstanceNumber" in ds:
            slices.append((_slice_position(ds), file, str(getattr(ds, "SeriesInstanceUID", ""))))
    if not slices:
        raise ZooError(f"{folder} holds no DICOM slices (files with ImagePositionPatient or InstanceNumber)")
    series = {uid for _, _, uid in slices}
    if len(series) > 1:
        raise ZooError(f"{folder} mixes {len(series)} DICOM series; put each series in its own folder")
    slices.sort(key=lambda item: item[0])
    arrays, header = [], {}
    for _, file, _ in slices:
        pixels, header = read_dicom_file(file)
        arrays.append(pixels)
    first = pydicom.dcmread(str(slices[0][1]), stop_before_pixels=True)
    spacing = [float(v) for v in getattr(first, "PixelSpacing", [1.0, 1.0])]
    step = abs(slices[1][0] - slices[0][0]) if len(slices) > 1 else float(getattr(first, "SliceThickness", 1) or 1)
    header["spacing"] = [step or 1.0, *spacing]
    return np.stack(arrays), header


def _slice_position(ds: Any) -> float:
    if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
        orientation = np.asarray(ds.ImageOrientationPatient, dtype=np.float64)
        normal = np.cross(orientation[:3], orientation[3:])
        return float(np.dot(normal, np.asarray(ds.ImagePositionPatient, dtype=np.float64)))
    return float(getattr(ds, "InstanceNumber", 0))


def normalise(raw: np.ndarray, intensity: dict[str, Any], header: dict[str, Any] | None = None) -> np.ndarray:
    """Map stored values to about [0, 1] (``zscore``: mean 0, std 1) following ``intensity``."""
    header = header or {}
    mode = intensity["mode"]
    if mode == "auto" or (mode == "scale" and not np.issubdtype(raw.dtype, np.integer)):
        if raw.dtype == np.uint8:
            mode = "scale"
        elif "modality" in header:  # DICOM
            mode = "dicom_window"
        else:
            mode = "percentile"
    if mode == "dicom_window":
        mode = "window" if "window" in header else "percentile"
        intensity = {"mode": mode, "window": header.get("window")}
    values = raw.astype(np.float32)
    if mode == "scale":
        return values / float(np.iinfo(raw.dtype).max)
    if mode == "window":
        low, high = intensity["window"]
        return (np.clip(values, low, high) - low) / (high - low)
    if mode == "percentile":
        low, high = np.percentile(values, [0.5, 99.5])
        return np.clip((values - low) / max(high - low, 1e-6), 0, 1)
    if mode == "zscore":
        body = values[values != 0] if np.any(values != 0) else values
        return (values - body.mean()) / max(float(body.std()), 1e-6)
    raise ConfigError(f"unknown intensity mode {mode!r}; valid: {', '.join(INTENSITY_MODES)}")


def _require(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(f"{what}", "medical", module) from error
