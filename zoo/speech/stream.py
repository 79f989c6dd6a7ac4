"""A wake word in continuous audio: a keyword model slid over a long recording, smoothed, with a refractory period.

    python -m zoo predict --checkpoint runs/kws --stream long.wav [--wake-word right] [--threshold 0.8]
    python -m zoo evaluate --checkpoint runs/kws --split stream         # the embedded long-audio split

The model sees one window of its clip length (1 s) every ``hop_ms``; the wake word's probability is averaged over
the last ``smoothing_ms`` (posterior smoothing, Chen et al., 2014) and a detection fires when that average crosses
``threshold``, after which nothing fires for ``refractory_ms``. Each detection is reported at the centre of the
window that scored highest around it.

The field scores a detector by its detection rate at a fixed number of false alarms per hour of audio, and by the
curve of one against the other as the threshold moves (a DET curve). A detection is a hit when it lies within
``TOLERANCE_S`` of a wake word that was said and no earlier detection took it; any other detection is a false alarm.

The embedded long-audio split (:func:`wake_stream`) is minutes of synthetic speech (other words, commands of the
intent set) and noise, with the wake word said at known times by speakers the keyword model never heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchmetrics import Metric

from zoo.errors import ConfigError
from zoo.speech import synth

TOLERANCE_S = 0.5  # a detection may land this far outside the wake word's span
THRESHOLDS = tuple(float(t) for t in np.round(np.concatenate([np.arange(0.05, 0.9, 0.05),
                                                              1 - np.logspace(-1, -4, 31)]), 6))


@dataclass
class StreamSettings:
    """How windows are scored and turned into detections (the stream's ``PredictOptions`` fields)."""

    threshold: float = 0.8
    smoothing_ms: float = 300.0
    refractory_ms: float = 1500.0
    hop_ms: float = 100.0


def windows(wave: Tensor, clip: int, hop: int) -> Tensor:
    """``(count, clip)`` windows every ``hop`` samples; the wave is padded with zeros to fill the last one."""
    if len(wave) < clip:
        wave = torch.nn.functional.pad(wave, (0, clip - len(wave)))
    count = (len(wave) - clip) // hop + 1
    rest = len(wave) - ((count - 1) * hop + clip)
    if rest > 0:
        wave = torch.nn.functional.pad(wave, (0, hop - rest))
        count += 1
    return wave.unfold(0, clip, hop)[:count]


@torch.no_grad()
def window_scores(model: nn.Module, wave: Tensor, clip: int, hop: int, index: int, device: torch.device,
                  batch: int = 256) -> Tensor:
    """The probability of class ``index`` in each window of ``wave`` (on the CPU)."""
    model.eval()
    frames = windows(wave, clip, hop)
    out = []
    for start in range(0, len(frames), batch):
        chunk = frames[start : start + batch].to(device)
        lengths = torch.full((len(chunk),), clip, device=device)
        out.append(model(chunk, lengths).float().softmax(-1)[:, index].cpu())
    return torch.cat(out) if out else torch.zeros(0)


def smooth(scores: Tensor, width: int) -> Tensor:
    """The mean of each score and the ``width - 1`` before it (fewer at the start)."""
    width = max(1, width)
    total = torch.nn.functional.pad(scores.double().cumsum(0), (1, 0))
    index = torch.arange(1, len(scores) + 1)
    first = (index - width).clamp(min=0)
    return ((total[index] - total[first]) / (index - first)).float()


def detect(scores: Tensor, settings: StreamSettings, clip_s: float, threshold: float | None = None) -> list[dict]:
    """Detections ``{"time", "score"}`` (seconds, smoothed probability) from per-window scores."""
    hop_s = settings.hop_ms / 1000
    smoothed = smooth(scores, round(settings.smoothing_ms / settings.hop_ms))
    level = settings.threshold if threshold is None else threshold
    refractory = max(1, round(settings.refractory_ms / settings.hop_ms))
    reach = round(settings.smoothing_ms / settings.hop_ms)
    above = torch.nonzero(smoothed >= level).flatten().tolist()
    found, blocked_until = [], -1
    for frame in above:
        if frame < blocked_until:
            continue
        low, high = max(0, frame - reach), min(len(scores), frame + reach // 2 + 1)
        peak = low + int(scores[low:high].argmax())
        found.append({"time": round(peak * hop_s + clip_s / 2, 3), "score": round(float(smoothed[frame]), 4)})
        blocked_until = frame + refractory
    return found


def match(detections: list[float], events: list[tuple[float, float]]) -> tuple[int, int]:
    """(hits, false alarms) of detection times against the wake words' (start, end) spans."""
    taken = [False] * len(events)
    hits = alarms = 0
    for time in sorted(detections):
        for i, (start, end) in enumerate(events):
            if not taken[i] and start - TOLERANCE_S <= time <= end + TOLERANCE_S:
                taken[i] = True
                hits += 1
                break
        else:
            alarms += 1
    return hits, alarms


def curve(scores: Tensor, events: list[tuple[float, float]], hours: float, settings: StreamSettings,
          clip_s: float) -> list[tuple[float, float, float]]:
    """(threshold, detection rate, false alarms per hour) over :data:`THRESHOLDS`."""
    out = []
    for threshold in THRESHOLDS:
        times = [d["time"] for d in detect(scores, settings, clip_s, threshold)]
        hits, alarms = match(times, events)
        out.append((threshold, hits / max(1, len(events)), alarms / hours))
    return out


def rate_at(points: list[tuple[float, float, float]], false_alarms_per_hour: float) -> float:
    """The best detection rate among thresholds whose false alarms per hour are at most the given number."""
    return max((rate for _, rate, alarms in points if alarms <= false_alarms_per_hour), default=0.0)


# --- the embedded long-audio split ---------------------------------------------------------------------------------


@dataclass
class LongAudio:
    """A long recording and the spans (seconds) at which the wake word is said."""

    wave: Tensor
    sample_rate: int
    wake_word: str
    events: list[tuple[float, float]]
    commands: list[dict[str, Any]]  # commands said after a wake word: span, words (for the assistant's sample)
    said: list[tuple[float, float, str]]  # every word said: start, end (seconds), the word

    @property
    def hours(self) -> float:
        return len(self.wave) / self.sample_rate / 3600


def _background_words(wake_word: str) -> list[str]:
    """Words said between wake words: the synthesiser's words (the keyword set's) and the command words."""
    return [w for w in (*synth.WORDS, *synth.PHRASE_WORDS) if w != wake_word]


def _render(items: list[tuple[str, synth.Speaker]], seed: int) -> list[np.ndarray]:
    tracks = [synth.word_tracks(w, s, i) for i, (w, s) in enumerate(items)]
    return synth.render(tracks, [s for _, s in items], seed)


@lru_cache(maxsize=4)
def wake_stream(minutes: float, wake_word: str, seed: int = 0, wake_every_s: tuple[float, float] = (20.0, 40.0),
                commands: bool = True, snr_db: tuple[float, float] = (5.0, 20.0)) -> LongAudio:
    """``minutes`` of 16 kHz audio: speech of unheard speakers (runs of one to eight words, pauses of up to a few
    seconds) over changing background noise; every ``wake_every_s`` seconds the wake word, followed (with
    ``commands``) by a command of the intent set in the same voice."""
    from zoo.speech.embedded import noise_bank
    from zoo.speech.intents import command_intents, phrasings

    if wake_word not in synth.WORDS:
        raise ConfigError(f"the synthesiser cannot say wake word {wake_word!r}; choose one of {', '.join(synth.WORDS)}")
    rate = synth.SAMPLE_RATE
    total = int(minutes * 60 * rate)
    rng = np.random.default_rng([seed, 31])
    speakers = synth.sample_speakers(60, np.random.default_rng([seed, 31, 1]))
    vocabulary = _background_words(wake_word)
    intents = command_intents()
    # The plan: runs of background words, and wake words (with a command), each followed by a pause; about 0.4 s a
    # word plans the time, and the real lengths lay it out.
    plan: list[tuple[list[str], synth.Speaker, tuple[str, ...], float]] = []
    planned, next_wake = rng.uniform(1.0, 3.0), rng.uniform(*wake_every_s) / 2
    while planned < total / rate - 10:
        speaker = speakers[int(rng.integers(len(speakers)))]
        if planned >= next_wake:
            intent = intents[int(rng.integers(len(intents)))]
            said = phrasings(*intent)
            words = [wake_word, *(said[int(rng.integers(len(said)))].split() if commands else [])]
            next_wake = planned + rng.uniform(*wake_every_s)
        else:
            words = [vocabulary[int(i)] for i in rng.integers(len(vocabulary), size=int(rng.integers(1, 9)))]
            intent = ()
        pause = rng.uniform(1.0, 3.0) if intent else rng.uniform(0.3, 4.0)
        plan.append((words, speaker, intent, pause))
        planned += 0.4 * len(words) + pause
    rendered = iter(_render([(w, s) for words, s, _, _ in plan for w in words], seed * 7 + 5))
    wave = np.zeros(total, dtype=np.float32)
    events, said_commands, said = [], [], []
    position = int(rng.uniform(1.0, 3.0) * rate)
    for words, speaker, intent, pause in plan:
        pieces = [next(rendered) for _ in words]
        gaps = [int(rng.uniform(0.1, 0.3) * rate) if intent and i == 0 else int(rng.uniform(0.0, 0.1) * rate)
                for i in range(len(words))]
        if position + sum(map(len, pieces)) + sum(gaps) >= total:
            break
        gain = rng.uniform(0.3, 1.0)
        spans = []
        for word, piece, gap in zip(words, pieces, gaps):
            wave[position : position + len(piece)] += piece.astype(np.float32) * (gain / 32767)
            spans.append((position / rate, (position + len(piece)) / rate))
            said.append((*spans[-1], word))
            position += len(piece) + gap
        if intent:
            events.append(spans[0])
            if len(spans) > 1:
                said_commands.append({"wake": list(spans[0]), "start": spans[1][0], "end": spans[-1][1],
                                      "words": " ".join(words[1:]),
                                      "slots": dict(zip(("action", "object", "location"), intent))})
        position += int(pause * rate)
    noise = noise_bank(seed)
    bed = np.zeros(total, dtype=np.float32)
    segment = 10 * rate
    for start in range(0, total, segment):  # the background changes every ten seconds
        recording = noise[int(rng.integers(len(noise)))]
        offset = int(rng.integers(0, len(recording) - segment))
        level = 0.1 * 0.6 * 10 ** (-rng.uniform(*snr_db) / 20)
        piece = recording[offset : offset + min(segment, total - start)]
        bed[start : start + len(piece)] = piece * level
    return LongAudio(torch.from_numpy(np.clip(wave + bed, -1, 1)), rate, wake_word, events, said_commands, said)


class StreamWindows(Dataset):
    """Items ``(window, index, contains the whole wake word)`` of a :class:`LongAudio`, for ``evaluate``."""

    def __init__(self, audio: LongAudio, clip: int, hop: int):
        self.audio, self.clip, self.hop = audio, clip, hop
        self.frames = windows(audio.wave, clip, hop)
        starts = torch.arange(len(self.frames)) * hop / audio.sample_rate
        self.inside = torch.zeros(len(self.frames), dtype=torch.bool)
        for start, end in audio.events:
            self.inside |= (starts <= start) & (starts + clip / audio.sample_rate >= end)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> tuple[Tensor, int, bool]:
        return self.frames[index], index, bool(self.inside[index])


def collate_windows(items: list[tuple[Tensor, int, bool]]) -> dict[str, Tensor]:
    waves = torch.stack([item[0] for item in items])
    return {"waves": waves, "lengths": torch.full((len(items),), waves.shape[1]),
            "window": torch.tensor([item[1] for item in items]),
            "inside": torch.tensor([item[2] for item in items], dtype=torch.float32)}


class WakeWordRates(Metric):
    """Detection rate and false alarms per hour of a stream's window scores: at the settings' threshold, and the
    best detection rate at no more than one false alarm per hour (the curve is in ``evaluate``'s report)."""

    full_state_update = False

    def __init__(self, audio: LongAudio, settings: StreamSettings, clip_s: float):
        super().__init__()
        self.audio, self.settings, self.clip_s = audio, settings, clip_s
        self.add_state("scores", [], dist_reduce_fx="cat")
        self.add_state("index", [], dist_reduce_fx="cat")

    def update(self, scores: Tensor, index: Tensor) -> None:
        self.scores.append(scores.float())
        self.index.append(index)

    def track(self) -> Tensor:
        scores = torch.cat(self.scores) if isinstance(self.scores, list) else self.scores
        index = torch.cat(self.index) if isinstance(self.index, list) else self.index
        track = torch.zeros(int(index.max()) + 1 if len(index) else 0)
        track[index.cpu()] = scores.cpu()
        return track

    def compute(self) -> dict[str, Tensor]:
        track = self.track()
        hits, alarms = match([d["time"] for d in detect(track, self.settings, self.clip_s)], self.audio.events)
        points = curve(track, self.audio.events, self.audio.hours, self.settings, self.clip_s)
        return {"detection_rate": torch.tensor(hits / max(1, len(self.audio.events))),
                "false_alarms_per_hour": torch.tensor(alarms / self.audio.hours),
                "detection_at_1_fa_per_hour": torch.tensor(rate_at(points, 1.0))}


def assistant_sample(commands: int, seed: int = 1) -> tuple[Tensor, list[dict[str, Any]]]:
    """About ``commands`` times twelve seconds of speech and noise in which the wake word (:data:`WAKE_WORD` of the
    embedded sets) is followed by a command, and what was said when (for ``zoo samples`` and ``zoo assistant``)."""
    from zoo.speech.embedded import WAKE_WORD

    audio = wake_stream(commands * 12 / 60 + 0.2, WAKE_WORD, seed, wake_every_s=(9.0, 13.0), snr_db=(15.0, 25.0))
    return audio.wave, audio.commands
