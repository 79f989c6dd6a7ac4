"""The embedded speech datasets: generated spoken words, made in code, the same on every machine.

``keywords`` mirrors Speech Commands' 12-class setup: 1-second 16 kHz clips of ten commands ("yes", "no", "up",
"down", "left", "right", "on", "off", "stop", "go"), ``_unknown_`` (twenty other words: digits and the Speech
Commands extras) and ``_silence_`` (background only). Each clip is a word from one of hundreds of synthetic speakers
(vocal-tract length, pitch and its contour, speaking rate, per-phone deviations; see :mod:`zoo.speech.synth`) at a
random onset and loudness over background noise (white, pink, brown, mains hum, babble) at a random SNR. Train and
val use different speakers.

``utterances`` strings two to four of the commands and digits together with variable pauses, one speaker per
utterance, for speech-to-text; the transcript is the words separated by spaces.

Words are synthesised on first access, a chunk at a time, and kept as int16, so building the dataset is instant and
a test that reads four items renders 32 words, not thousands.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError
from zoo.speech import synth
from zoo.speech.datasets import AudioSplit

SAMPLE_RATE = synth.SAMPLE_RATE
UNKNOWN, SILENCE = "_unknown_", "_silence_"
KEYWORD_CLASSES: tuple[str, ...] = (*synth.COMMANDS, UNKNOWN, SILENCE)
UTTERANCE_WORDS: tuple[str, ...] = (*synth.COMMANDS, "zero", "one", "two", "three", "four", "five", "six", "seven",
                                    "eight", "nine")
NUM_TRAIN, NUM_VAL = 6000, 1200
NUM_UTTERANCES_TRAIN, NUM_UTTERANCES_VAL = 4000, 400
_STREAMS = {"train": 1, "val": 2, "test": 2}  # "test" is val: the generator has no third distribution
_SPEAKERS = {"train": 400, "val": 100}
_CHUNK = 32
_NOISE_SECONDS = 20.0
SNR_DB = (3.0, 25.0)
WAKE_WORD = "right"  # the wake word of the long-audio split; a command, so the default 12-class model knows it


def _check_split(split: str, name: str, stream: bool = False) -> str:
    if split not in _STREAMS and not (stream and split == "stream"):
        more = ", stream (long audio with wake words)" if stream else ""
        raise ConfigError(f"unknown split {split!r} for dataset {name!r}. Valid splits: train, val ('test' = val)"
                          f"{more}.")
    return split if split in ("train", "stream") else "val"


@lru_cache(maxsize=4)
def noise_bank(seed: int) -> tuple[np.ndarray, ...]:
    """The generated background recordings (unit RMS, 16 kHz) that clips are mixed over."""
    return tuple(synth.noise_recordings(_NOISE_SECONDS, seed + 7919).values())


class _Words:
    """Words rendered on first access, a chunk at a time, and kept (int16)."""

    def __init__(self, words: list[str], speakers: list[synth.Speaker], seed: int):
        self.words, self.speakers, self.seed = words, speakers, seed
        self.tracks: dict[int, list[np.ndarray]] = {}
        self.chunks: dict[int, list[np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.words)

    def _tracks(self, chunk: int) -> list[np.ndarray]:
        if chunk not in self.tracks:
            first = chunk * _CHUNK
            pairs = zip(self.words[first : first + _CHUNK], self.speakers[first : first + _CHUNK])
            self.tracks[chunk] = [synth.word_tracks(w, s, first + i) for i, (w, s) in enumerate(pairs)]
        return self.tracks[chunk]

    def length(self, index: int) -> int:
        return synth.rendered_length(self._tracks(index // _CHUNK)[index % _CHUNK])

    def __getitem__(self, index: int) -> np.ndarray:
        chunk = index // _CHUNK
        if chunk not in self.chunks:
            speakers = self.speakers[chunk * _CHUNK : (chunk + 1) * _CHUNK]
            self.chunks[chunk] = synth.render(self._tracks(chunk), speakers, self.seed * 1_000 + chunk)
        return self.chunks[chunk][index % _CHUNK]


def _mix(length: int, parts: list[tuple[int, np.ndarray]], rng: np.random.Generator, noise: tuple[np.ndarray, ...],
         snr_db: tuple[float, float]) -> Tensor:
    """Words placed at their offsets, scaled to a random loudness, over a noise excerpt at a random SNR."""
    clip = np.zeros(length, dtype=np.float32)
    gain = rng.uniform(0.25, 1.0)
    for at, word in parts:
        piece = word[: length - at].astype(np.float32) * (gain / 32767)
        clip[at : at + len(piece)] += piece
    recording = noise[int(rng.integers(len(noise)))]
    start = int(rng.integers(0, len(recording) - length))
    if parts:
        level = 0.1 * gain * 10 ** (-rng.uniform(*snr_db) / 20)  # words are rendered at RMS 0.1
    else:  # silence: the background alone, over a wide range of levels
        level = 0.1 * np.exp(rng.uniform(np.log(0.01), np.log(0.5)))
    clip += recording[start : start + length] * level
    return torch.from_numpy(np.clip(clip, -1.0, 1.0))


class KeywordClips(Dataset):
    """Items ``(waveform (16000,), label, transcript)``: one word or none over noise, 1 second at 16 kHz."""

    def __init__(self, words: list[str | None], labels: list[int], speakers: list[synth.Speaker], seed: int,
                 stream: int, snr_db: tuple[float, float]):
        self.labels, self.seed, self.stream, self.snr_db = labels, seed, stream, snr_db
        self.texts = [w or "" for w in words]
        spoken = [i for i, w in enumerate(words) if w is not None]
        self.slot = {index: slot for slot, index in enumerate(spoken)}
        spoken_words = [w for w in words if w is not None]
        self.words = _Words(spoken_words, [speakers[i] for i in spoken], seed * 10 + stream)
        self.noise = noise_bank(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int, str]:
        rng = np.random.default_rng([self.seed, self.stream, index])
        parts = []
        if index in self.slot:
            word = self.words[self.slot[index]][:SAMPLE_RATE]
            parts.append((int(rng.integers(0, SAMPLE_RATE - len(word) + 1)), word))
        return _mix(SAMPLE_RATE, parts, rng, self.noise, self.snr_db), self.labels[index], self.texts[index]


def keywords(
    split: str,
    root: str | None = None,
    download: bool = False,
    num_train: int = NUM_TRAIN,
    num_val: int = NUM_VAL,
    classes: str = "commands",
    snr_db: tuple[float, float] = SNR_DB,
    seed: int = 0,
    stream_minutes: float = 60.0,
    wake_word: str = WAKE_WORD,
) -> AudioSplit:
    """Generated 1-second keyword clips; ``root`` and ``download`` are unused.

    ``classes="commands"`` gives the 12-class setup (ten commands, ``_unknown_``, ``_silence_``, equally often);
    ``classes="all"`` gives one class per generated word (thirty). Split ``stream`` is ``stream_minutes`` of
    continuous speech and noise by unheard speakers with ``wake_word`` said at known times (for ``zoo evaluate
    --split stream``, see :mod:`zoo.speech.stream`).
    """
    which = _check_split(split, "keywords", stream=True)
    if classes == "commands":
        names = list(KEYWORD_CLASSES)
    elif classes == "all":
        names = list(synth.WORDS)
    else:
        raise ConfigError(f"data.args.classes must be 'commands' (12 classes) or 'all' (30 words), got {classes!r}")
    if which == "stream":
        from zoo.speech.stream import wake_stream

        audio = wake_stream(float(stream_minutes), wake_word, seed)
        return AudioSplit(KeywordClips([], [], [], seed, 0, snr_db), SAMPLE_RATE, names, clip_samples=SAMPLE_RATE,
                          stream=audio)
    count = num_train if which == "train" else num_val
    return AudioSplit(_keyword_clips(which, count, classes, tuple(snr_db), seed), SAMPLE_RATE, names,
                      clip_samples=SAMPLE_RATE, noise=list(map(_noise_tensors, noise_bank(seed))))


def _noise_tensors(recording: np.ndarray) -> Tensor:
    """A background recording for training augmentation, at the loudness of the words (RMS 0.1)."""
    return torch.from_numpy(recording * 0.1)


@lru_cache(maxsize=8)
def _keyword_clips(which: str, count: int, classes: str, snr_db: tuple[float, float], seed: int) -> KeywordClips:
    stream = _STREAMS[which]
    rng = np.random.default_rng([seed, stream])
    speakers = synth.sample_speakers(_SPEAKERS[which], np.random.default_rng([seed, stream, 1]))
    others = list(synth.OTHER_WORDS)
    if classes == "commands":
        labels = rng.integers(0, len(KEYWORD_CLASSES), count).tolist()
        words: list[str | None] = []
        for label in labels:
            name = KEYWORD_CLASSES[label]
            if name == UNKNOWN:
                name = others[int(rng.integers(len(others)))]
            words.append(None if name == SILENCE else name)
    else:
        labels = rng.integers(0, len(synth.WORDS), count).tolist()
        words = [list(synth.WORDS)[label] for label in labels]
    chosen = [speakers[i] for i in rng.integers(0, len(speakers), count)]
    return KeywordClips(words, labels, chosen, seed, stream, snr_db)


class Utterances(Dataset):
    """Items ``(waveform, -1, transcript)``: several words of one speaker with pauses, over noise."""

    def __init__(self, plans: list[tuple[int, list[int], list[int], int]], bank: _Words, per_speaker: int, seed: int,
                 stream: int, snr_db: tuple[float, float]):
        self.plans, self.bank, self.per_speaker = plans, bank, per_speaker
        self.seed, self.stream, self.snr_db = seed, stream, snr_db
        self.noise = noise_bank(seed)

    def __len__(self) -> int:
        return len(self.plans)

    def lengths(self) -> list[int]:
        return [plan[3] for plan in self.plans]

    @property
    def texts(self) -> list[str]:
        return [" ".join(UTTERANCE_WORDS[w] for w in plan[1]) for plan in self.plans]

    def __getitem__(self, index: int) -> tuple[Tensor, int, str]:
        speaker, words, offsets, length = self.plans[index]
        rng = np.random.default_rng([self.seed, self.stream, index])
        parts = [(at, self.bank[speaker * self.per_speaker + w]) for at, w in zip(offsets, words)]
        text = " ".join(UTTERANCE_WORDS[w] for w in words)
        return _mix(length, parts, rng, self.noise, self.snr_db), -1, text


def utterances(
    split: str,
    root: str | None = None,
    download: bool = False,
    num_train: int = NUM_UTTERANCES_TRAIN,
    num_val: int = NUM_UTTERANCES_VAL,
    min_words: int = 2,
    max_words: int = 4,
    snr_db: tuple[float, float] = (10.0, 30.0),
    seed: int = 0,
) -> AudioSplit:
    """Generated utterances of ``min_words`` to ``max_words`` commands and digits, with transcripts."""
    which = _check_split(split, "utterances")
    if not 1 <= min_words <= max_words:
        raise ConfigError(f"data.args.min_words and max_words need 1 <= min <= max, got {min_words}, {max_words}")
    count = num_train if which == "train" else num_val
    dataset = _utterances(which, count, min_words, max_words, tuple(snr_db), seed)
    return AudioSplit(dataset, SAMPLE_RATE, None, noise=list(map(_noise_tensors, noise_bank(seed))),
                      lengths=dataset.lengths())


@lru_cache(maxsize=4)
def _utterances(which: str, count: int, min_words: int, max_words: int, snr_db: tuple[float, float],
                seed: int) -> Utterances:
    stream = _STREAMS[which] + 10
    # About twenty utterances per speaker: each speaker's words are rendered once and reused.
    count_speakers = min(_SPEAKERS[which] // 2, max(4, count // 20))
    speakers = synth.sample_speakers(count_speakers, np.random.default_rng([seed, stream, 1]))
    per = len(UTTERANCE_WORDS)
    bank = _Words([w for _ in speakers for w in UTTERANCE_WORDS], [s for s in speakers for _ in UTTERANCE_WORDS],
                  seed * 10 + stream)
    rng = np.random.default_rng([seed, stream])
    plans = []
    for _ in range(count):
        speaker = int(rng.integers(len(speakers)))
        words = rng.integers(0, per, int(rng.integers(min_words, max_words + 1))).tolist()
        at, offsets = int(rng.uniform(0.05, 0.3) * SAMPLE_RATE), []
        for w in words:
            offsets.append(at)
            at += bank.length(speaker * per + w) + int(rng.uniform(0.02, 0.3) * SAMPLE_RATE)
        plans.append((speaker, words, offsets, at + int(rng.uniform(0.05, 0.3) * SAMPLE_RATE)))
    return Utterances(plans, bank, per, seed, stream, snr_db)
