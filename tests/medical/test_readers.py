"""File readers and intensity mapping: PNG (8 and 16 bit), DICOM files and series, NIfTI, windows."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.medical.files import write_dicom, write_png
from zoo.errors import ConfigError, MissingExtraError, ZooError
from zoo.medical import readers


def test_intensity_modes():
    hu = np.array([[-1000.0, -160.0], [40.0, 1000.0]], dtype=np.float32)
    window = readers.normalise(hu, readers.intensity_spec("window", [-160, 240]))
    assert np.allclose(window, [[0, 0], [0.5, 1]])
    z = readers.normalise(np.array([0, 2, 4, 6], np.float32), {"mode": "zscore"})
    assert np.isclose(z[1:].mean(), 0, atol=1e-6) and np.isclose(z[1:].std(), 1, atol=1e-5)
    scaled = readers.normalise(np.array([0, 255], np.uint8), {"mode": "auto"})
    assert np.allclose(scaled, [0, 1])
    wide = readers.normalise(np.linspace(0, 4000, 1001).astype(np.uint16), {"mode": "auto"})  # 16-bit: percentiles
    assert wide.min() == 0 and wide.max() == 1 and 0.49 < wide[500] < 0.51
    with pytest.raises(ConfigError, match=r"window=\[low, high\]"):
        readers.intensity_spec("window")
    with pytest.raises(ConfigError, match="valid: auto, scale"):
        readers.intensity_spec("hounsfield")


def test_png_images_grey_and_rgb(tmp_path):
    grey = write_png(tmp_path / "g.png", np.full((5, 7), 51, np.uint8))
    image = readers.read_image(grey, 1, {"mode": "auto"})
    assert image.shape == (1, 5, 7) and np.allclose(image, 0.2)
    assert readers.read_image(grey, 3, {"mode": "auto"}).shape == (3, 5, 7)
    deep = tmp_path / "d.png"
    from PIL import Image

    Image.fromarray(np.arange(35, dtype=np.uint16).reshape(5, 7) * 1000).save(deep)
    assert readers.read_image(deep, 1, {"mode": "scale"}).max() == pytest.approx(34000 / 65535)
    with pytest.raises(ZooError, match="does not exist"):
        readers.read_image(tmp_path / "none.png", 1, {"mode": "auto"})


def test_dicom_file_in_hounsfield_units_with_its_window(tmp_path):
    pytest.importorskip("pydicom")
    hu = np.array([[-1024, -160], [40, 240]], dtype=np.float32)
    path = write_dicom(tmp_path / "ct.dcm", hu + 1024, window=(40, 400))
    pixels, header = readers.read_dicom_file(path)
    assert np.allclose(pixels, hu) and header["modality"] == "CT" and header["window"] == [-160.0, 240.0]
    image = readers.read_image(path, 1, {"mode": "auto"})  # the file's own window
    assert np.allclose(image[0], [[0, 0], [0.5, 1]])
    assert np.allclose(readers.read_image(path, 1, {"mode": "scale"}), image)  # as an 8-bit-trained model needs
    lung = readers.read_image(path, 1, readers.intensity_spec("window", [-1000, 400]))
    assert lung[0, 1, 0] == pytest.approx(1040 / 1400)


def test_dicom_series_is_ordered_along_the_slice_normal(tmp_path):
    pytest.importorskip("pydicom")
    for instance, z in [(1, 5.0), (2, -5.0), (3, 0.0)]:  # written out of order on purpose
        write_dicom(tmp_path / "series" / f"{instance}.dcm", np.full((3, 4), 1024 + z * 10), position=z,
                    instance=instance)
    (tmp_path / "series" / "README").write_text("not dicom")
    volume, header = readers.read_volume(tmp_path / "series")
    assert volume.shape == (3, 3, 4) and volume[:, 0, 0].tolist() == [-50.0, 0.0, 50.0]
    assert header["spacing"] == [5.0, 0.8, 0.8]
    write_dicom(tmp_path / "series" / "other.dcm", np.zeros((3, 4)), series="9.9")
    with pytest.raises(ZooError, match="mixes 2 DICOM series"):
        readers.read_dicom_series(tmp_path / "series")


def test_nifti_round_trip_keeps_slices_on_axis_0(tmp_path):
    pytest.importorskip("nibabel")
    volume = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    affine = np.diag([0.7, 0.8, 2.5, 1.0])
    readers.write_nifti(tmp_path / "v.nii.gz", volume, affine.tolist())
    back, header = readers.read_nifti(tmp_path / "v.nii.gz")
    assert np.array_equal(back, volume) and header["spacing"] == pytest.approx([2.5, 0.8, 0.7])
    readers.write_nifti(tmp_path / "slice.nii.gz", volume[:1])
    assert readers.read_image(tmp_path / "slice.nii.gz", 1, {"mode": "percentile"}).shape == (1, 3, 4)
    with pytest.raises(ZooError, match="holds a volume"):
        readers.read_image(tmp_path / "v.nii.gz", 1, {"mode": "percentile"})


def test_missing_readers_name_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nibabel", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r"NIfTI files need nibabel.*pip install -e \"\.\[medical\]\""):
        readers.read_nifti(tmp_path / "x.nii.gz")
