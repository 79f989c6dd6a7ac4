"""Reading and shaping audio with nothing but pip packages: soundfile (which bundles libsndfile) and torchaudio.

torchaudio 2.9+ leaves file decoding to torchcodec and FFmpeg, which a fresh machine may lack; soundfile reads
WAV, FLAC, OGG/Vorbis, Opus and MP3 on its own. Resampling and the rest use torchaudio's functional ops.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from zoo.errors import ZooError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")


def read_audio(path: str | Path) -> tuple[Tensor, int]:
    """Samples as float32 (channels, samples) in [-1, 1] and the file's sample rate."""
    import soundfile

    from zoo.inputs import input_file

    path = input_file(path, "audio file")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise ZooError(
            f"{path} is not a readable audio file ({error}); soundfile reads {', '.join(AUDIO_EXTENSIONS)}"
        ) from error
    short = _wav_shortfall(path)
    if short is not None:
        raise ZooError(f"{path} is truncated: its header promises {short[0]} bytes of samples, the file holds "
                       f"{short[1]}; copy or export it again")
    if data.shape[0] == 0:
        raise ZooError(f"{path} holds no samples; record or export it again")
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(rate)


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(bytes the data chunk declares, bytes present) of a RIFF WAV cut short; libsndfile reads what is there and
    says nothing, so a recording cut by an interrupted copy would pass for a short one."""
    import struct

    with path.open("rb") as handle:
        if handle.read(4) != b"RIFF":
            return None
        size = path.stat().st_size
        handle.seek(12)
        while (header := handle.read(8)) and len(header) == 8:
            chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                present = size - handle.tell()
                return (length, present) if length != 0xFFFFFFFF and present < length else None
            handle.seek(length + (length & 1), 1)  # chunks are padded to an even length
    return None


def load_audio(path: str | Path, sample_rate: int) -> Tensor:
    """A mono float32 waveform (samples,) at ``sample_rate``: channels averaged, then resampled."""
    wave, rate = read_audio(path)
    return resample(wave.mean(dim=0), rate, sample_rate)


@lru_cache(maxsize=8)
def _resampler(orig: int, new: int) -> torch.nn.Module:
    import torchaudio

    return torchaudio.transforms.Resample(orig, new)


def resample(wave: Tensor, orig: int, new: int) -> Tensor:
    """``wave`` (..., samples) from ``orig`` Hz to ``new`` Hz with torchaudio's windowed-sinc filter."""
    if orig == new:
        return wave
    with torch.no_grad():
        return _resampler(orig, new)(wave)


def fix_length(wave: Tensor, samples: int) -> Tensor:
    """Exactly ``samples`` long: short clips are centred in zeros, long ones keep their loudest window."""
    n = wave.shape[-1]
    if n == samples:
        return wave
    if n < samples:
        left = (samples - n) // 2
        return torch.nn.functional.pad(wave, (left, samples - n - left))
    energy = torch.nn.functional.pad(wave.square().cumsum(-1), (1, 0))
    window = energy[..., samples:] - energy[..., :-samples]
    start = int(window.reshape(-1, window.shape[-1]).sum(0).argmax())
    return wave[..., start : start + samples]


def to_int16(wave: Tensor | np.ndarray) -> np.ndarray:
    """Samples in [-1, 1] as int16, the form clips are kept in memory (half the size of float32)."""
    array = wave.numpy() if isinstance(wave, Tensor) else np.asarray(wave)
    return np.clip(np.round(array * 32767), -32767, 32767).astype(np.int16)


def from_int16(samples: np.ndarray) -> Tensor:
    return torch.from_numpy(samples.astype(np.float32) / 32767)
