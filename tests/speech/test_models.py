"""Speech models: output shapes and lengths, and the fit of wav2vec2_ctc to torchaudio's pipelines."""

from __future__ import annotations

import pytest
import torch

from zoo import registry
from zoo.speech import models, upstream

SPEECH = registry.list_models("speech")


@pytest.mark.parametrize("builder", [models.temporal_cnn, models.res8, models.waveform_cnn])
def test_keyword_models_give_class_logits(builder) -> None:
    model = builder(num_classes=7).eval()
    assert model(torch.randn(2, 16_000), torch.tensor([16_000, 16_000])).shape == (2, 7)


@pytest.mark.parametrize("builder", [models.crnn_ctc, models.conformer_ctc, models.wav2vec2_ctc])
def test_ctc_models_give_frames_and_their_counts(builder) -> None:
    model = builder(vocab_size=9).eval()
    lengths = torch.tensor([24_000, 12_000])
    logits, frames = model(torch.randn(2, 24_000), lengths)
    assert logits.shape[0] == 2 and logits.shape[2] == 9 and frames.shape == (2,)
    assert int(frames[0]) == logits.shape[1] and int(frames[1]) <= logits.shape[1] // 2 + 1
    shorter, _ = model(torch.randn(2, 24_000)[:1, :12_000], lengths[1:])
    assert shorter.shape[1] == int(frames[1])


def test_ctc_outputs_ignore_padding() -> None:
    model = models.crnn_ctc(vocab_size=9).eval()
    wave = torch.randn(1, 12_000)
    alone, frames = model(wave, torch.tensor([12_000]))
    padded, _ = model(torch.cat([wave, torch.zeros(1, 8_000)], dim=1), torch.tensor([12_000]))
    assert torch.allclose(alone, padded[:, : alone.shape[1]], atol=1e-4)


@pytest.mark.parametrize("name", ["WAV2VEC2_ASR_BASE_960H", "WAV2VEC2_ASR_LARGE_LV60K_960H",
                                  "VOXPOPULI_ASR_BASE_10K_EN"])
def test_wav2vec2_ctc_at_full_size_has_the_keys_and_shapes_of_torchaudios_pipeline(name: str) -> None:
    bundle = upstream.asr_bundles()[name]
    assert upstream.fits(bundle)
    labels = upstream.file_labels(bundle)
    assert labels[:5] == ["-", "<pad>", "</s>", "<unk>", "|"]
    assert len(labels) == upstream.builder_args(bundle)["vocab_size"]
    assert upstream.builder_args(bundle)["normalize_waveform"] == ("LV60K" in name)


def test_the_asr_pipelines_are_read_from_torchaudio() -> None:
    bundles = upstream.asr_bundles()
    assert "WAV2VEC2_ASR_BASE_960H" in bundles and "HUBERT_ASR_LARGE" in bundles
    assert all(upstream.url(b).startswith("https://") for b in bundles.values())


def test_waveform_normalisation_uses_only_the_valid_samples() -> None:
    waves = torch.cat([torch.randn(1, 100) * 3 + 1, torch.zeros(1, 50)], dim=1)
    out = models._normalise(waves, torch.tensor([100]))
    assert torch.allclose(out[0, :100].mean(), torch.tensor(0.0), atol=1e-5)
    assert torch.allclose(out[0, :100].std(unbiased=False), torch.tensor(1.0), atol=1e-3)
    assert torch.all(out[0, 100:] == 0)
