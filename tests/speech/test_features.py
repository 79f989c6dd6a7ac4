"""The front end: feature shapes, per-utterance normalisation, SpecAugment only in training, nothing saved."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import ConfigError
from zoo.speech.features import FeatureConfig, Frontend


@pytest.mark.parametrize(("kind", "size"), [("logmel", 40), ("mfcc", 13)])
def test_feature_shapes_and_frame_counts(kind: str, size: int) -> None:
    frontend = Frontend({"kind": kind, "n_mels": 40, "n_mfcc": 13, "hop_ms": 10.0}).eval()
    waves = torch.randn(3, 16_000)
    lengths = torch.tensor([16_000, 8_000, 1_600])
    features, frames = frontend(waves, lengths)
    assert features.shape == (3, size, 101) and frontend.size == size
    assert frames.tolist() == [101, 51, 11]
    assert torch.all(features[1, :, 51:] == 0) and torch.all(features[2, :, 11:] == 0)  # padding stays silent
    assert torch.allclose(features[1, :, :51].mean(dim=1), torch.zeros(size), atol=1e-4)  # per-utterance mean removed


def test_features_ignore_loudness() -> None:
    frontend = Frontend().eval()
    wave = torch.randn(1, 16_000)
    quiet, _ = frontend(0.1 * wave)
    loud, _ = frontend(wave)
    assert torch.allclose(quiet, loud, atol=1e-2)


def test_spec_augment_masks_only_in_training() -> None:
    frontend = Frontend({"freq_mask": 10, "time_mask": 20, "masks": 2})
    waves = torch.randn(8, 16_000)
    torch.manual_seed(0)
    masked, _ = frontend.train()(waves)
    clean, _ = frontend.eval()(waves)
    zero_rows = (masked == 0).all(dim=2).sum(dim=1)
    zero_frames = (masked == 0).all(dim=1).sum(dim=1)
    assert zero_rows.max() > 0 and zero_rows.max() <= 20 and zero_frames.max() > 0 and zero_frames.max() <= 40
    assert not (clean == 0).all(dim=2).any()


def test_the_filterbank_is_not_saved() -> None:
    assert Frontend({"kind": "mfcc"}).state_dict() == {}


def test_bad_settings_name_the_option() -> None:
    with pytest.raises(ConfigError, match="logmel"):
        Frontend({"kind": "spectrogram"})
    with pytest.raises(ConfigError, match="n_mfcc"):
        Frontend({"kind": "mfcc", "n_mfcc": 80, "n_mels": 40})
    assert FeatureConfig(sample_rate=8_000, hop_ms=10.0).hop == 80
