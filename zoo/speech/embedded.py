"""The embedded speech datasets: generated spoken words, made in code, the same on every machine.

``keywords`` mirrors Speech Commands' 12-class setup: 1-second 16 kHz clips of ten commands ("yes", "no", "up",
"down", "left", "right", "on", "off", "stop", "go"), ``_unknown_`` (eighty other words: digits, the Speech Commands
extras and the words of the spoken home-assistant commands, :data:`synth.PHRASE_WORDS`) and ``_silence_``
(background only). Each clip is a word from one of hundreds of synthetic speakers (vocal-tract length, pitch and its
contour, speaking rate, per-phone deviations; see :mod:`zoo.speech.synth`) at a random onset and loudness over
background noise (white, pink, brown, mains hum, babble) at a random SNR. Train and val use different speakers.

A share of the word clips (``context``) is cut from running speech: the word has a neighbour before it, after it or
both, said by the same voice with a short gap and cut off by the clip's edge. A keyword model slid over continuous
audio sees such windows all the time (see :mod:`zoo.speech.stream`); trained on isolated words alone, it takes the
fragments and the words it never heard for keywords. Neighbours are never classes, and only whole words are in the
transcript.

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
UNKNOWN_WORDS: tuple[str, ...] = (*synth.OTHER_WORDS, *synth.PHRASE_WORDS)  # said for ``_unknown_``
UTTERANCE_WORDS: tuple[str, ...] = (*synth.COMMANDS, "zero", "one", "two", "three", "four", "five", "six", "seven",
                                    "eight", "nine")
NUM_TRAIN, NUM_VAL = 6000, 1200
NUM_UTTERANCES_TRAIN, NUM_UTTERANCES_VAL = 4000, 400
_STREAMS = {"train": 1, "val": 2, "test": 2}  # "test" is val: the generator has no third distribution
_SPEAKERS = {"train": 400, "val": 100}
_CHUNK = 32
_NOISE_SECONDS = 20.0
SNR_DB = (3.0, 25.0)
CONTEXT = 0.5  # share of word clips cut from running speech
UNKNOWN_SHARE = 1 / 12  # share of clips that are ``_unknown_`` (12 classes: as often as each other class)
NEAR_MISSES = 1.0  # how much more often an unknown word one phone from a command is said (two phones: its root)
_GAP_S = (0.0, 0.2)  # between a word and its neighbours
# The wake word of the long-audio split: a class of the default 12-class model, and the one farthest from every other
# word the stream says (two phones from "start", three from any other), as wake words are chosen; "right" is one phone
# from "light", which most commands say (docs/speech.md).
WAKE_WORD = "stop"


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
    """Words placed at their offsets (cut where they reach past either end), scaled to a random loudness, over a
    noise excerpt at a random SNR."""
    clip = np.zeros(length, dtype=np.float32)
    gain = rng.uniform(0.25, 1.0)
    for at, word in parts:
        if at < 0:
            word, at = word[-at:], 0
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


def _onsets(length: int, gaps: np.ndarray, left: np.ndarray | None, right: np.ndarray | None) -> tuple[int, int]:
    """The range of onsets of a word of ``length`` samples at which the neighbours (``gaps`` away) start or end
    inside the clip and reach past its edges, so that the clip holds one whole word."""
    low, high = 0, SAMPLE_RATE - length
    if left is not None:
        low, high = max(low, gaps[0] + 1), min(high, gaps[0] + len(left) - 1)
    if right is not None:
        low = max(low, SAMPLE_RATE - length - gaps[1] - len(right) + 1)
        high = min(high, SAMPLE_RATE - length - gaps[1] - 1)
    return int(low), int(high)


class KeywordClips(Dataset):
    """Items ``(waveform (16000,), label, transcript)``: one word or none over noise, 1 second at 16 kHz; a word may
    have cut neighbours (``context[i]``: the words before and after it, or None)."""

    def __init__(self, words: list[str | None], labels: list[int], speakers: list[synth.Speaker], seed: int,
                 stream: int, snr_db: tuple[float, float],
                 context: list[tuple[str | None, str | None]] | None = None):
        self.labels, self.seed, self.stream, self.snr_db = labels, seed, stream, snr_db
        self.texts = [w or "" for w in words]
        context = context or [(None, None)] * len(words)
        # Every word said, clip by clip (before, the word, after), in one lazily rendered bank.
        self.parts: list[tuple[int | None, int | None, int | None]] = []
        bank_words: list[str] = []
        bank_speakers: list[synth.Speaker] = []
        for word, (before, after), speaker in zip(words, context, speakers):
            slots = []
            for said in (before, word, after) if word is not None else (None, None, None):
                slots.append(len(bank_words) if said is not None else None)
                if said is not None:
                    bank_words.append(said)
                    bank_speakers.append(speaker)
            self.parts.append((slots[0], slots[1], slots[2]))
        self.words = _Words(bank_words, bank_speakers, seed * 10 + stream)
        self.noise = noise_bank(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int, str]:
        rng = np.random.default_rng([self.seed, self.stream, index])
        before, main, after = self.parts[index]
        parts = []
        if main is not None:
            word = self.words[main][:SAMPLE_RATE]
            gaps = (rng.uniform(*_GAP_S, 2) * SAMPLE_RATE).astype(int)
            left = self.words[before] if before is not None else None
            right = self.words[after] if after is not None else None
            for left, right in ((left, right), (left, None), (None, right), (None, None)):
                low, high = _onsets(len(word), gaps, left, right)
                if low <= high:
                    break
            at = int(rng.integers(low, high + 1))
            parts.append((at, word))
            if left is not None:
                parts.append((at - gaps[0] - len(left), left))
            if right is not None:
                parts.append((at + len(word) + gaps[1], right))
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
    context: float = CONTEXT,
    unknown_share: float = UNKNOWN_SHARE,
    near_misses: float = NEAR_MISSES,
) -> AudioSplit:
    """Generated 1-second keyword clips; ``root`` and ``download`` are unused.

    ``classes="commands"`` gives the 12-class setup (ten commands, ``_unknown_``, ``_silence_``, equally often by
    default); ``classes="all"`` gives one class per generated word (thirty). A ``context`` share of the word clips is
    cut from running speech (neighbours of the command vocabulary, cut by the edges). With ``commands``,
    ``unknown_share`` of the clips are ``_unknown_``, and an unknown word one phone from a command is drawn
    ``near_misses`` times as often as the others (see :func:`near_miss_weights`). Split ``stream`` is
    ``stream_minutes`` of continuous speech and noise by unheard speakers with ``wake_word`` said at known times (for ``zoo evaluate
    --split stream``, see :mod:`zoo.speech.stream`).
    """
    which = _check_split(split, "keywords", stream=True)
    if classes == "commands":
        names = list(KEYWORD_CLASSES)
    elif classes == "all":
        names = list(synth.WORDS)
    else:
        raise ConfigError(f"data.args.classes must be 'commands' (12 classes) or 'all' (30 words), got {classes!r}")
    if not 0.0 <= context <= 1.0:
        raise ConfigError(f"data.args.context is the share of clips cut from running speech, in [0, 1]; got {context}")
    if not 0.0 <= unknown_share < 1.0:
        raise ConfigError(f"data.args.unknown_share is the share of _unknown_ clips, in [0, 1); got {unknown_share}")
    if which == "stream":
        from zoo.speech.stream import wake_stream

        audio = wake_stream(float(stream_minutes), wake_word, seed)
        return AudioSplit(KeywordClips([], [], [], seed, 0, snr_db), SAMPLE_RATE, names, clip_samples=SAMPLE_RATE,
                          stream=audio)
    count = num_train if which == "train" else num_val
    return AudioSplit(_keyword_clips(which, count, classes, tuple(snr_db), seed, float(context),
                                     float(unknown_share), float(near_misses)), SAMPLE_RATE, names,
                      clip_samples=SAMPLE_RATE, noise=list(map(_noise_tensors, noise_bank(seed))))


def phone_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute a phone) between two words' pronunciations."""
    x, y = synth.pronunciation(a).split(), synth.pronunciation(b).split()
    row = list(range(len(y) + 1))
    for i, p in enumerate(x, 1):
        previous, row[0] = row[:], i
        for j, q in enumerate(y, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (p != q))
    return row[-1]


def near_miss_weights(words: tuple[str, ...], keywords: tuple[str, ...], factor: float) -> np.ndarray:
    """How often each of ``words`` is drawn: ``factor`` times as often when one phone from a keyword ("light" and
    "right"), its square root when two, so that the model hears the words it would take for keywords."""
    distance = np.array([min(phone_distance(w, k) for k in keywords) for w in words])
    weights = np.where(distance <= 1, factor, np.where(distance == 2, np.sqrt(factor), 1.0))
    return weights / weights.sum()


def _noise_tensors(recording: np.ndarray) -> Tensor:
    """A background recording for training augmentation, at the loudness of the words (RMS 0.1)."""
    return torch.from_numpy(recording * 0.1)


@lru_cache(maxsize=8)
def _keyword_clips(which: str, count: int, classes: str, snr_db: tuple[float, float], seed: int,
                   context: float = CONTEXT, unknown_share: float = UNKNOWN_SHARE,
                   near_misses: float = NEAR_MISSES) -> KeywordClips:
    stream = _STREAMS[which]
    rng = np.random.default_rng([seed, stream])
    speakers = synth.sample_speakers(_SPEAKERS[which], np.random.default_rng([seed, stream, 1]))
    if classes == "commands":
        share = np.full(len(KEYWORD_CLASSES), (1 - unknown_share) / (len(KEYWORD_CLASSES) - 1))
        share[KEYWORD_CLASSES.index(UNKNOWN)] = unknown_share
        labels = rng.choice(len(KEYWORD_CLASSES), count, p=share).tolist()
        unknown_weights = near_miss_weights(UNKNOWN_WORDS, tuple(synth.COMMANDS), near_misses)
        words: list[str | None] = []
        for label in labels:
            name = KEYWORD_CLASSES[label]
            if name == UNKNOWN:
                name = UNKNOWN_WORDS[int(rng.choice(len(UNKNOWN_WORDS), p=unknown_weights))]
            words.append(None if name == SILENCE else name)
        neighbours = UNKNOWN_WORDS
    else:
        labels = rng.integers(0, len(synth.WORDS), count).tolist()
        words = [list(synth.WORDS)[label] for label in labels]
        neighbours = tuple(synth.PHRASE_WORDS)
    chosen = [speakers[i] for i in rng.integers(0, len(speakers), count)]
    # Its own generator, so that the clips' words and speakers do not depend on ``context``.
    draw = np.random.default_rng([seed, stream, 2])
    sides = np.where(draw.random(count) < context, draw.integers(1, 4, count), 0)  # 1 before, 2 after, 3 both
    picks = draw.integers(0, len(neighbours), (count, 2))
    around = [(neighbours[b] if side & 1 else None, neighbours[a] if side & 2 else None)
              for side, (b, a) in zip(sides.tolist(), picks.tolist())]
    return KeywordClips(words, labels, chosen, seed, stream, snr_db, around)


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
