"""The embedded speech sets: deterministic, balanced, lazily rendered, and built from distinct words."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.errors import ConfigError
from zoo.speech import embedded, synth


def _fresh(loader, split: str, **kwargs):
    embedded._keyword_clips.cache_clear()
    embedded._utterances.cache_clear()
    return loader(split, **kwargs).dataset


def test_keyword_clips_are_the_same_on_every_build() -> None:
    first = [_fresh(embedded.keywords, "train", num_train=80)[i] for i in (0, 5, 79)]
    again = [_fresh(embedded.keywords, "train", num_train=80)[i] for i in (0, 5, 79)]
    for (a, label_a, text_a), (b, label_b, text_b) in zip(first, again):
        assert torch.equal(a, b) and (label_a, text_a) == (label_b, text_b)


def test_keyword_clips_hold_their_word_or_silence() -> None:
    split = embedded.keywords("val", num_val=300)
    assert split.classes == list(embedded.KEYWORD_CLASSES) and split.clip_samples == 16_000
    counts = np.bincount(split.dataset.labels, minlength=12)
    assert counts.min() >= 10  # every class, about equally often
    for index in range(24):
        wave, label, text = split.dataset[index]
        name = embedded.KEYWORD_CLASSES[label]
        assert wave.shape == (16_000,) and wave.abs().max() <= 1.0
        if name == embedded.SILENCE:
            assert text == ""
        elif name == embedded.UNKNOWN:
            assert text in embedded.UNKNOWN_WORDS
        else:
            assert text == name
    read = max(i for part in split.dataset.parts[:24] for i in part if i is not None)
    chunks = len(split.dataset.words) // embedded._CHUNK
    assert len(split.dataset.words.chunks) <= read // embedded._CHUNK + 1 < chunks  # only the words read so far


def test_clips_cut_from_running_speech_hold_one_whole_word() -> None:
    gaps = np.array([800, 1600])
    low, high = embedded._onsets(6000, gaps, np.zeros(4000), np.zeros(5000))
    assert low <= high
    for at in (low, high):
        assert at - 800 - 4000 < 0 < at - 800  # the word before starts before the clip and ends inside it
        assert at + 6000 + 1600 < 16_000 < at + 6000 + 1600 + 5000  # the word after starts inside, ends after
    low, high = embedded._onsets(15_500, gaps, np.zeros(4000), None)
    assert low > high  # no room for the word before: the clip is made without it
    parts = embedded.keywords("val", num_val=48, context=1.0).dataset.parts
    spoken = [p for p in parts if p[1] is not None]
    assert spoken and all(p[0] is not None or p[2] is not None for p in spoken)  # every word has a neighbour
    alone = embedded.keywords("val", num_val=48, context=0.0).dataset.parts
    assert all(p[0] is None and p[2] is None for p in alone)
    clips = embedded.keywords("val", num_val=48, context=1.0).dataset
    index = next(i for i, p in enumerate(parts) if p[0] is not None and p[2] is not None)
    wave, label, text = clips[index]
    assert wave.shape == (16_000,) and text == clips.texts[index] and text != ""  # only the whole word


def test_unknown_share_and_near_misses() -> None:
    labels = embedded.keywords("train", num_train=600, unknown_share=0.5).dataset.labels
    assert 0.4 < labels.count(embedded.KEYWORD_CLASSES.index(embedded.UNKNOWN)) / 600 < 0.6
    weights = dict(zip(embedded.UNKNOWN_WORDS, embedded.near_miss_weights(embedded.UNKNOWN_WORDS,
                                                                          tuple(synth.COMMANDS), 9.0)))
    assert embedded.phone_distance("light", "right") == 1 and embedded.phone_distance("marvin", "right") > 2
    assert weights["light"] == pytest.approx(9 * weights["marvin"])
    assert weights["cat"] == pytest.approx(3 * weights["marvin"])  # two phones from "right"
    with pytest.raises(ConfigError, match="context"):
        embedded.keywords("train", context=1.5)
    with pytest.raises(ConfigError, match="unknown_share"):
        embedded.keywords("train", unknown_share=1.0)


def test_all_words_setup_and_bad_arguments() -> None:
    split = embedded.keywords("train", num_train=40, classes="all")
    assert split.classes == list(synth.WORDS) and len(split.classes) == 30
    with pytest.raises(ConfigError, match="'commands'"):
        embedded.keywords("train", classes="digits")
    with pytest.raises(ConfigError, match="train, val"):
        embedded.keywords("dev")


def test_utterances_say_their_transcripts() -> None:
    split = embedded.utterances("val", num_val=12)
    assert split.classes is None and len(split.lengths) == 12
    for index in range(3):
        wave, label, text = split.dataset[index]
        words = text.split()
        assert label == -1 and 2 <= len(words) <= 4 and set(words) <= set(embedded.UTTERANCE_WORDS)
        assert wave.shape == (split.lengths[index],)
    again = _fresh(embedded.utterances, "val", num_val=12)
    assert torch.equal(again[2][0], split.dataset[2][0]) and again.texts == split.dataset.texts


def test_words_differ_in_the_way_their_phones_say() -> None:
    speakers = synth.sample_speakers(1, np.random.default_rng(0)) * 2
    yes, no = synth.render_words(["yes", "no"], speakers, seed=0)

    def high_share(wave: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(wave.astype(np.float64))) ** 2
        return float(spectrum[len(spectrum) // 2 :].sum() / spectrum.sum())  # above 4 kHz

    assert high_share(yes) > 5 * high_share(no)  # the /s/ of "yes" is a high noise band; "no" is voiced throughout
    again = synth.render_words(["yes", "no"], speakers, seed=0)
    assert np.array_equal(again[0], yes)
