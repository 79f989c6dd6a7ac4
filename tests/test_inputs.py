"""Input files a user names: a directory, a decompression bomb, a truncated or empty WAV each fail in one line."""

import struct
import zlib

import numpy as np
import pytest
import soundfile

from zoo.errors import ZooError


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb(path, side=40_000):
    """A valid PNG header for a grey image of side x side pixels (far past PIL's limit), a few bytes in all."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))
    return path


def _readers():
    from zoo.medical.readers import read_image as medical
    from zoo.problems.detection.datasets import read_rgb
    from zoo.vision.transforms import load_image

    return [lambda p: load_image(p, 3, 32), read_rgb, lambda p: medical(p, 1, {"kind": "minmax"})]


def test_a_decompression_bomb_and_a_directory_fail_in_one_line(tmp_path):
    bomb = _bomb(tmp_path / "bomb.png")
    for read in _readers():
        with pytest.raises(ZooError, match="bomb.png is refused: .*decompression bomb.*MAX_IMAGE_PIXELS") as caught:
            read(bomb)
        assert "\n" not in str(caught.value)
        with pytest.raises(ZooError, match=f"image '{tmp_path}' is a directory, not a file"):
            read(tmp_path)
        with pytest.raises(ZooError, match="does not exist"):
            read(tmp_path / "missing.png")


def test_a_truncated_or_empty_wav_fails_in_one_line(tmp_path):
    from zoo.speech.audio import load_audio

    whole = tmp_path / "whole.wav"
    soundfile.write(whole, np.zeros(1600, np.float32), 16_000, subtype="PCM_16")
    assert load_audio(whole, 16_000).shape == (1600,)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:1000])
    with pytest.raises(ZooError, match="cut.wav is truncated: its header promises 3200 bytes of samples, the file "
                                       "holds 956"):
        load_audio(cut, 16_000)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), 16_000, subtype="PCM_16")
    with pytest.raises(ZooError, match="empty.wav holds no samples"):
        load_audio(empty, 16_000)
    with pytest.raises(ZooError, match="is a directory"):
        load_audio(tmp_path, 16_000)
