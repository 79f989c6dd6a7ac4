"""Audio files are read with soundfile (no FFmpeg), mixed to mono, resampled and cut to length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.speech import files
from zoo.errors import ZooError
from zoo.speech.audio import fix_length, from_int16, load_audio, read_audio, to_int16


def test_stereo_wav_is_mixed_to_mono_and_resampled(tmp_path: Path) -> None:
    left = files.tone(440, 0.5, rate=8_000)
    path = tmp_path / "stereo.wav"
    files.write_wav(path, np.stack([left, -0.5 * left], axis=1), rate=8_000)
    raw, rate = read_audio(path)
    assert rate == 8_000 and raw.shape == (2, 4_000)
    assert torch.allclose(raw[0], torch.from_numpy(left), atol=1 / 32767)
    mono = load_audio(path, 8_000)
    assert torch.allclose(mono, torch.from_numpy(0.25 * left), atol=2 / 32767)
    up = load_audio(path, 16_000)
    assert up.shape == (8_000,)
    spectrum = torch.fft.rfft(up).abs()
    assert abs(int(spectrum.argmax()) * 16_000 / 8_000 - 440) <= 2  # still a 440 Hz tone


def test_flac_round_trips(tmp_path: Path) -> None:
    samples = files.tone(1_000, 0.25)
    files.write_flac(tmp_path / "a.flac", samples)
    assert torch.allclose(load_audio(tmp_path / "a.flac", 16_000), torch.from_numpy(samples), atol=1 / 32767)


def test_unreadable_and_missing_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ZooError, match="does not exist"):
        load_audio(tmp_path / "missing.wav", 16_000)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(ZooError, match="not a readable audio file"):
        load_audio(bad, 16_000)


def test_fix_length_centres_short_clips_and_keeps_the_loudest_window() -> None:
    short = torch.ones(4)
    assert fix_length(short, 8).tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
    long = torch.zeros(100)
    long[60:70] = 1.0
    window = fix_length(long, 20)
    assert window.shape == (20,) and window.sum() == 10


def test_int16_storage_round_trips() -> None:
    wave = torch.linspace(-1, 1, 101)
    assert to_int16(wave).dtype == np.int16
    assert torch.allclose(from_int16(to_int16(wave)), wave, atol=1 / 32767)
