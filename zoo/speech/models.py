"""Speech models. Every one takes waveforms ``(batch, samples)`` and their lengths.

Keyword spotting models return class logits ``(batch, classes)``. Speech-to-text models return per-frame logits
``(batch, frames, vocabulary)`` for CTC, blank first, and the number of valid frames of each utterance. Spectral
models start with :class:`~zoo.speech.features.Frontend`; the raw-waveform CNN and wav2vec 2.0 learn their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchaudio.models import Conformer, Wav2Vec2Model, wav2vec2_model

from zoo.speech.features import FeatureConfig, Frontend


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- keyword spotting ---------------------------------------------------------------------------------------------


class KeywordCNN(nn.Module):
    """Front end, a 2-D CNN over (feature, time), global average pooling and a linear classifier (res8, res15)."""

    def __init__(self, frontend: Frontend, body: nn.Module, width: int, num_classes: int, dropout: float):
        super().__init__()
        self.frontend, self.body = frontend, body
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_classes))

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        features, _ = self.frontend(waves, lengths)
        return self.head(self.body(features.unsqueeze(1)).mean(dim=(2, 3)))


def _conv1d_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm1d(cout),
                         nn.ReLU(inplace=True))


class TemporalCNN(nn.Module):
    """1-D convolutions over time with the feature bands as input channels (as in TC-ResNet, Choi et al., 2019):
    each layer sees the whole spectrum, so a few strided layers cover a word at a fraction of a 2-D CNN's cost."""

    def __init__(self, num_classes: int, features: dict[str, Any] | None, width: int, dropout: float):
        super().__init__()
        self.frontend = Frontend(features)
        self.body = nn.Sequential(
            _conv1d_bn(self.frontend.size, width, 3),
            _conv1d_bn(width, width, 9, 2),
            _conv1d_bn(width, 2 * width, 9, 2),
            _conv1d_bn(2 * width, 2 * width, 9, 2),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        features, _ = self.frontend(waves, lengths)
        return self.head(self.body(features).mean(dim=2))


def temporal_cnn(num_classes: int, features: dict[str, Any] | None = None, width: int = 32,
                 dropout: float = 0.1) -> nn.Module:
    """Four 1-D conv-BN-ReLU layers over log-mel frames (three of stride 2), average pooled: the fast baseline."""
    return TemporalCNN(num_classes, features, width, dropout)


class _ResBody(nn.Module):
    """The residual stack of Tang & Lin (2018): unbiased 3x3 convs, ReLU, then BN without affine, shortcuts every
    two layers, optionally an average pool after the first conv and dilations growing every three layers."""

    def __init__(self, channels: int, layers: int, pool: tuple[int, int] | None, dilated: bool):
        super().__init__()
        self.conv0 = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        self.pool = nn.AvgPool2d(pool) if pool else nn.Identity()
        dilation = [2 ** (i // 3) if dilated else 1 for i in range(layers)]
        self.convs = nn.ModuleList(
            nn.Conv2d(channels, channels, 3, padding=d, dilation=d, bias=False) for d in dilation
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(channels, affine=False) for _ in range(layers))

    def forward(self, x: Tensor) -> Tensor:
        x = shortcut = self.pool(F.relu(self.conv0(x)))
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms), start=1):
            y = F.relu(conv(x))
            if i % 2 == 0:
                y = shortcut = y + shortcut
            x = norm(y)
        return x


def res8(num_classes: int, features: dict[str, Any] | None = None, channels: int = 45,
         dropout: float = 0.0) -> nn.Module:
    """res8 (Tang & Lin, 2018): a 4x3 average pool, then six residual 3x3 layers of 45 maps; about 110k weights."""
    return KeywordCNN(Frontend(features), _ResBody(channels, 6, (4, 3), False), channels, num_classes, dropout)


def res15(num_classes: int, features: dict[str, Any] | None = None, channels: int = 45,
          dropout: float = 0.0) -> nn.Module:
    """res15 (Tang & Lin, 2018): thirteen dilated residual 3x3 layers of 45 maps at full resolution; about 238k."""
    return KeywordCNN(Frontend(features), _ResBody(channels, 13, None, True), channels, num_classes, dropout)


class WaveformCNN(nn.Module):
    """A 1-D CNN on the raw waveform in the style of M5 (Dai et al., 2017): a wide strided first layer learns the
    filterbank, then small convolutions with max pooling, global average pooling and a linear classifier."""

    def __init__(self, num_classes: int, width: int, first_kernel: int, first_stride: int, dropout: float):
        super().__init__()
        channels = [width, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        cin = 1
        for i, cout in enumerate(channels):
            kernel, stride = (first_kernel, first_stride) if i == 0 else (3, 1)
            layers += [nn.Conv1d(cin, cout, kernel, stride, padding=kernel // 2 if i else 0, bias=False),
                       nn.BatchNorm1d(cout), nn.ReLU(inplace=True), nn.MaxPool1d(4)]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(cin, num_classes))

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        scale = waves.square().mean(dim=1, keepdim=True).sqrt().clamp(min=1e-4)
        return self.head(self.body((waves / scale).unsqueeze(1)).mean(dim=2))


def waveform_cnn(num_classes: int, width: int = 32, first_kernel: int = 80, first_stride: int = 16,
                 dropout: float = 0.1) -> nn.Module:
    """The raw-waveform keyword model (M5-style); it computes no spectrogram."""
    return WaveformCNN(num_classes, width, first_kernel, first_stride, dropout)


# --- speech to text (CTC) -------------------------------------------------------------------------------------------


class _Subsample(nn.Module):
    """Two stride-2 1-D convolutions over time with the feature bands as channels: frames / 4, ``dim`` wide.

    Frames past an utterance's end are zeroed after each layer, so its outputs do not depend on the batch's padding.
    """

    def __init__(self, in_features: int, dim: int, kernel: int = 5):
        super().__init__()
        self.convs = nn.ModuleList([_conv1d_bn(in_features, dim, kernel, 2), _conv1d_bn(dim, dim, kernel, 2)])

    def forward(self, x: Tensor, frames: Tensor) -> tuple[Tensor, Tensor]:
        for conv in self.convs:
            x = conv(x)
            frames = ((frames - 1) // 2 + 1).clamp(min=1, max=x.shape[-1])
            x = x * (torch.arange(x.shape[-1], device=x.device)[None, :] < frames[:, None]).unsqueeze(1)
        return x.transpose(1, 2), frames


class CRNN(nn.Module):
    """Front end, convolutional subsampling, a bidirectional GRU and a linear layer to the vocabulary."""

    def __init__(self, vocab_size: int, features: FeatureConfig | dict | None, hidden: int, layers: int,
                 dropout: float):
        super().__init__()
        self.frontend = Frontend(features)
        self.subsample = _Subsample(self.frontend.size, hidden)
        self.rnn = nn.GRU(hidden, hidden, layers, batch_first=True, bidirectional=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, vocab_size)

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, frames = self.frontend(waves, lengths)
        x, frames = self.subsample(x, frames)
        packed = nn.utils.rnn.pack_padded_sequence(x, frames.cpu(), batch_first=True, enforce_sorted=False)
        x, _ = self.rnn(packed)
        x, _ = nn.utils.rnn.pad_packed_sequence(x, batch_first=True)
        return self.out(self.dropout(x)), frames


def crnn_ctc(vocab_size: int, features: dict[str, Any] | None = None, hidden: int = 128, layers: int = 2,
             dropout: float = 0.1) -> nn.Module:
    """Conv + GRU acoustic model for CTC: light and quick to train on a CPU."""
    return CRNN(vocab_size, features, hidden, layers, dropout)


class ConformerCTC(nn.Module):
    """Front end, convolutional subsampling, torchaudio's Conformer encoder (Gulati et al., 2020), linear to the
    vocabulary."""

    def __init__(self, vocab_size: int, features: FeatureConfig | dict | None, dim: int, layers: int, heads: int,
                 ffn_dim: int, kernel: int, dropout: float):
        super().__init__()
        self.frontend = Frontend(features)
        self.subsample = _Subsample(self.frontend.size, dim)
        self.dropout = nn.Dropout(dropout)
        self.encoder = Conformer(dim, heads, ffn_dim, layers, kernel, dropout=dropout)
        self.out = nn.Linear(dim, vocab_size)

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, frames = self.frontend(waves, lengths)
        x, frames = self.subsample(x, frames)
        x, frames = self.encoder(self.dropout(x), frames)
        return self.out(x), frames


def conformer_ctc(vocab_size: int, features: dict[str, Any] | None = None, dim: int = 144, layers: int = 4,
                  heads: int = 4, ffn_dim: int = 576, kernel: int = 15, dropout: float = 0.1) -> nn.Module:
    """A small Conformer-CTC: ``dim``-wide blocks of feed-forward, self-attention and depthwise convolution."""
    return ConformerCTC(vocab_size, features, dim, layers, heads, ffn_dim, kernel, dropout)


class Wav2Vec2CTC(Wav2Vec2Model):
    """torchaudio's Wav2Vec2Model (the same modules and state-dict keys as its pipelines' weights), optionally
    normalising each waveform to zero mean and unit variance first, as the large LV-60k and XLSR models expect."""

    normalize_waveform = False

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if self.normalize_waveform:
            waves = _normalise(waves, lengths)
        return super().forward(waves, lengths)


def _normalise(waves: Tensor, lengths: Tensor | None) -> Tensor:
    if lengths is None:
        return F.layer_norm(waves, waves.shape[-1:])
    valid = torch.arange(waves.shape[1], device=waves.device)[None, :] < lengths[:, None]
    count = lengths[:, None].clamp(min=1)
    mean = (waves * valid).sum(1, keepdim=True) / count
    var = ((waves - mean).square() * valid).sum(1, keepdim=True) / count
    return (waves - mean) * torch.rsqrt(var + 1e-5) * valid


# The seven-layer extractor of wav2vec 2.0 (400-sample receptive field, 20 ms hop) with 32-64 channels, not 512.
SMALL_EXTRACTOR = ((32, 10, 5), (64, 3, 2), (64, 3, 2), (64, 3, 2), (64, 3, 2), (64, 2, 2), (64, 2, 2))


def wav2vec2_ctc(
    vocab_size: int,
    extractor_mode: str = "layer_norm",
    extractor_conv_layer_config: Sequence[Sequence[int]] = SMALL_EXTRACTOR,
    extractor_conv_bias: bool = False,
    encoder_embed_dim: int = 128,
    encoder_projection_dropout: float = 0.1,
    encoder_pos_conv_kernel: int = 64,
    encoder_pos_conv_groups: int = 8,
    encoder_num_layers: int = 2,
    encoder_num_heads: int = 4,
    encoder_attention_dropout: float = 0.1,
    encoder_ff_interm_features: int = 256,
    encoder_ff_interm_dropout: float = 0.0,
    encoder_dropout: float = 0.1,
    encoder_layer_norm_first: bool = False,
    encoder_layer_drop: float = 0.0,
    normalize_waveform: bool = False,
) -> nn.Module:
    """wav2vec 2.0 (Baevski et al., 2020) from torchaudio's ``wav2vec2_model`` factory with a CTC head of
    ``vocab_size``; built small by default, and at full size with a torchaudio pipeline's parameters."""
    base = wav2vec2_model(
        extractor_mode, [tuple(layer) for layer in extractor_conv_layer_config], extractor_conv_bias,
        encoder_embed_dim, encoder_projection_dropout, encoder_pos_conv_kernel, encoder_pos_conv_groups,
        encoder_num_layers, encoder_num_heads, encoder_attention_dropout, encoder_ff_interm_features,
        encoder_ff_interm_dropout, encoder_dropout, encoder_layer_norm_first, encoder_layer_drop, vocab_size,
    )
    model = Wav2Vec2CTC(base.feature_extractor, base.encoder, base.aux)
    model.normalize_waveform = normalize_waveform
    return model
