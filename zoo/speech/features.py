"""The acoustic front end inside every spectral model: log-mel or MFCC features and SpecAugment masking.

It runs batched on the model's device as the model's first layer, so training, evaluation, prediction and export all
see the same features, and it has no weights (the mel filters and the DCT are fixed buffers). Masking (Park et al.,
2019) happens only in training mode, like dropout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torchaudio
from torch import Tensor, nn

from zoo.errors import ConfigError


@dataclass(frozen=True)
class FeatureConfig:
    """What the front end computes; saved in each checkpoint's info."""

    sample_rate: int = 16_000
    kind: str = "logmel"  # logmel or mfcc
    n_mels: int = 40
    n_mfcc: int = 40  # mfcc only: cepstral coefficients kept (at most n_mels)
    win_ms: float = 25.0
    hop_ms: float = 10.0
    freq_mask: int = 0  # SpecAugment: widest frequency mask, in feature bins; 0 turns it off
    time_mask: int = 0  # widest time mask, in frames; 0 turns it off
    masks: int = 2  # masks of each kind per example

    @property
    def size(self) -> int:
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels

    @property
    def hop(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def feature_config(features: dict[str, Any] | FeatureConfig | None) -> FeatureConfig:
    if isinstance(features, FeatureConfig):
        return features
    try:
        config = FeatureConfig(**(features or {}))
    except TypeError as error:
        raise ConfigError(f"bad feature settings {features}: {error}") from error
    if config.kind not in ("logmel", "mfcc"):
        raise ConfigError(f"task_args.features must be 'logmel' or 'mfcc', got {config.kind!r}")
    if config.kind == "mfcc" and not 0 < config.n_mfcc <= config.n_mels:
        raise ConfigError(f"task_args.n_mfcc must be between 1 and n_mels ({config.n_mels}), got {config.n_mfcc}")
    return config


class Frontend(nn.Module):
    """Waveforms (B, samples) -> features (B, size, frames), normalised per utterance, and frame counts."""

    def __init__(self, features: dict[str, Any] | FeatureConfig | None = None):
        super().__init__()
        self.config = c = feature_config(features)
        win = round(c.sample_rate * c.win_ms / 1000)
        n_fft = 1 << (win - 1).bit_length()
        # Zeros past the ends (not reflection), as in a padded batch: features do not depend on the batch.
        self.mel = torchaudio.transforms.MelSpectrogram(
            c.sample_rate, n_fft=n_fft, win_length=win, hop_length=c.hop, f_min=20.0, n_mels=c.n_mels, power=2.0,
            pad_mode="constant",
        )
        if c.kind == "mfcc":
            self.register_buffer("dct", torchaudio.functional.create_dct(c.n_mfcc, c.n_mels, "ortho"), persistent=False)
        else:
            self.dct = None
        # The window and filters follow from the config: they are not weights, and checkpoints leave them out.
        self.mel.spectrogram.register_buffer("window", self.mel.spectrogram.window, persistent=False)
        self.mel.mel_scale.register_buffer("fb", self.mel.mel_scale.fb, persistent=False)

    @property
    def size(self) -> int:
        return self.config.size

    def frames(self, lengths: Tensor) -> Tensor:
        return lengths // self.config.hop + 1

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        with torch.autocast(waves.device.type, enabled=False):
            x = torch.log(self.mel(waves.float()) + 1e-6)
            if self.dct is not None:
                x = torch.matmul(x.transpose(1, 2), self.dct).transpose(1, 2)
        frames = self.frames(lengths) if lengths is not None else torch.full((x.shape[0],), x.shape[-1],
                                                                               device=x.device)
        frames = frames.clamp(max=x.shape[-1])
        valid = (torch.arange(x.shape[-1], device=x.device)[None, :] < frames[:, None]).unsqueeze(1)
        mean = (x * valid).sum(-1, keepdim=True) / frames[:, None, None].clamp(min=1)
        x = (x - mean) * valid / 4.0
        if self.training:
            x = self._mask(x, 1, self.config.freq_mask)
            x = self._mask(x, 2, self.config.time_mask)
        return x, frames

    def _mask(self, x: Tensor, dim: int, widest: int) -> Tensor:
        """Zero ``masks`` random bands of up to ``widest`` rows (dim 1) or frames (dim 2) in each example."""
        if widest <= 0 or self.config.masks <= 0:
            return x
        size = x.shape[dim]
        shape = (x.shape[0], self.config.masks, 1)
        width = (torch.rand(shape, device=x.device) * (min(widest, size) + 1)).floor()
        start = (torch.rand(shape, device=x.device) * (size - width + 1)).floor()
        position = torch.arange(size, device=x.device)[None, None, :]
        masked = ((position >= start) & (position < start + width)).any(dim=1)  # (B, size)
        return x.masked_fill(masked.unsqueeze(2 if dim == 1 else 1), 0.0)
