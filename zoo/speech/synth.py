"""A source-filter speech synthesiser for the embedded datasets: words as sequences of phones, many speakers.

A word is a list of phones; each phone sets, frame by frame (8 ms), the voicing amplitude, aspiration and frication
noise, three formant targets and, for fricatives and bursts, a noise band. Formant tracks are interpolated through
consonants and smoothed, which gives vowel transitions (coarticulation). A speaker scales the formants (vocal-tract
length), sets the pitch and its contour, the speaking rate and small per-phone deviations.

Rendering is batched: an impulse train at the speaker's pitch and white noise are taken to the STFT domain, shaped
by the frame's spectral envelopes (a cascade of formant resonators, a spectral tilt, a frication band) and brought
back by the inverse STFT. A few thousand words take a few seconds on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from zoo.runtime import cpu_threads

SAMPLE_RATE = 16_000
HOP = 128  # samples per synthesis frame (8 ms)
N_FFT = 256

# Vowel formants (F1, F2, F3, Hz) of an adult male voice, after Peterson & Barney (1952).
VOWELS: dict[str, tuple[float, float, float]] = {
    "iy": (270, 2290, 3010), "ih": (390, 1990, 2550), "eh": (530, 1840, 2480), "ae": (660, 1720, 2410),
    "ah": (520, 1190, 2390), "aa": (730, 1090, 2440), "ao": (570, 840, 2410), "uh": (440, 1020, 2240),
    "uw": (300, 870, 2240), "er": (490, 1350, 1690),
}


@dataclass(frozen=True)
class Phone:
    kind: str  # vowel, glide, nasal, fric, vfric, stop, vstop, h
    duration_ms: float
    formants: tuple[float, float, float] | None = None  # None: carried over from the neighbours
    end_formants: tuple[float, float, float] | None = None  # diphthongs glide to these
    band: tuple[float, float] = (0.0, 0.0)  # frication or burst noise: centre and width in Hz
    level: float = 1.0


def _vowel(name: str, ms: float = 150, to: str | None = None) -> Phone:
    return Phone("vowel", ms, VOWELS[name], VOWELS[to] if to else None)


PHONES: dict[str, Phone] = {
    **{name: _vowel(name) for name in VOWELS},
    "ay": _vowel("aa", 200, "iy"), "aw": _vowel("aa", 200, "uw"), "ow": _vowel("ao", 180, "uw"),
    "ey": _vowel("eh", 180, "iy"),
    "y": Phone("glide", 60, (260, 2500, 3100), level=0.6), "w": Phone("glide", 60, (300, 620, 2200), level=0.6),
    "r": Phone("glide", 70, (310, 1060, 1380), level=0.6), "l": Phone("glide", 70, (360, 1000, 2700), level=0.6),
    "m": Phone("nasal", 80, (250, 1000, 2200), level=0.35), "n": Phone("nasal", 80, (250, 1700, 2600), level=0.35),
    "s": Phone("fric", 120, band=(6000, 2500), level=2.5), "sh": Phone("fric", 120, band=(3200, 2000), level=2.5),
    "f": Phone("fric", 110, band=(5000, 6000), level=0.7), "th": Phone("fric", 100, band=(5500, 6000), level=0.5),
    "z": Phone("vfric", 100, band=(6000, 2500), level=1.5), "v": Phone("vfric", 80, band=(5000, 6000), level=0.6),
    "h": Phone("h", 70, level=0.5),
    "p": Phone("stop", 90, band=(1000, 2000), level=1.5), "t": Phone("stop", 90, band=(4500, 3000), level=2.0),
    "k": Phone("stop", 90, band=(2200, 1200), level=2.0), "b": Phone("vstop", 70, band=(1000, 2000), level=1.0),
    "d": Phone("vstop", 70, band=(4000, 3000), level=1.2), "g": Phone("vstop", 70, band=(2200, 1200), level=1.2),
}

# Words and their pronunciations; the ten commands of Speech Commands' 12-class setup come first.
COMMANDS: dict[str, str] = {
    "yes": "y eh s", "no": "n ow", "up": "ah p", "down": "d aw n", "left": "l eh f t",
    "right": "r ay t", "on": "aa n", "off": "ao f", "stop": "s t aa p", "go": "g ow",
}
OTHER_WORDS: dict[str, str] = {
    "zero": "z iy r ow", "one": "w ah n", "two": "t uw", "three": "th r iy", "four": "f ao r",
    "five": "f ay v", "six": "s ih k s", "seven": "s eh v ah n", "eight": "ey t", "nine": "n ay n",
    "bed": "b eh d", "bird": "b er d", "cat": "k ae t", "dog": "d ao g", "happy": "h ae p iy",
    "house": "h aw s", "marvin": "m aa r v ih n", "sheila": "sh iy l ah", "tree": "t r iy", "wow": "w aw",
}
WORDS: dict[str, str] = {**COMMANDS, **OTHER_WORDS}
# The words of spoken home-assistant commands (the embedded intent set). The phone set has no "dh", "ng", "ch" or
# "jh": they are approximated by "d", "n g" or "n", "t sh" and "d z".
PHRASE_WORDS: dict[str, str] = {
    "turn": "t er n", "switch": "s w ih t sh", "the": "d ah", "lights": "l ay t s", "light": "l ay t", "in": "ih n",
    "kitchen": "k ih t sh ah n", "bedroom": "b eh d r uw m", "washroom": "w aa sh r uw m",
    "bathroom": "b ae th r uw m", "lamp": "l ae m p", "music": "m y uw z ih k", "play": "p l ey",
    "start": "s t aa r t", "pause": "p ao z", "increase": "ih n k r iy s", "decrease": "d iy k r iy s",
    "heat": "h iy t", "heating": "h iy t ih n", "temperature": "t eh m p r ah t sh er", "make": "m ey k",
    "it": "ih t", "warmer": "w ao r m er", "cooler": "k uw l er", "louder": "l aw d er",
    "quieter": "k w ay ah t er", "volume": "v aa l y uw m", "sound": "s aw n d", "change": "t sh ey n d z",
    "language": "l ae n g w ih d z", "to": "t uw", "chinese": "t sh ay n iy z", "korean": "k ao r iy ah n",
    "english": "ih n g l ih sh", "german": "d z er m ah n", "set": "s eh t", "my": "m ay", "me": "m iy",
    "bring": "b r ih n", "get": "g eh t", "fetch": "f eh t sh", "some": "s ah m", "newspaper": "n uw z p ey p er",
    "paper": "p ey p er", "juice": "d z uw s", "socks": "s aa k s", "shoes": "sh uw z", "i": "ay",
    "need": "n iy d", "please": "p l iy z", "lower": "l ow er", "raise": "r ey z", "a": "ah", "use": "y uw z",
    "want": "w aa n t", "more": "m ao r", "less": "l eh s", "now": "n aw",
}


def pronunciation(word: str) -> str:
    """The phones of a word of :data:`WORDS` or :data:`PHRASE_WORDS`."""
    phones = WORDS.get(word) or PHRASE_WORDS.get(word)
    if phones is None:
        raise KeyError(f"the synthesiser has no pronunciation of {word!r}")
    return phones


@dataclass(frozen=True)
class Speaker:
    tract: float  # formant scale: about 0.85 (long vocal tract) to 1.25 (child)
    pitch: float  # mean f0 in Hz
    rate: float  # speaking rate; durations are divided by it
    declination: float  # relative f0 change over the word
    seed: int  # per-phone deviations of duration and formants


def sample_speakers(count: int, rng: np.random.Generator) -> list[Speaker]:
    """Speakers spread over vocal-tract length, pitch (loosely tied to it) and rate."""
    tract = rng.uniform(0.85, 1.25, count)
    pitch = 95 * tract**2.5 * np.exp(rng.normal(0, 0.18, count))
    rate = rng.uniform(0.75, 1.3, count)
    declination = rng.uniform(-0.3, 0.1, count)
    seeds = rng.integers(0, 2**31, count)
    return [Speaker(*values) for values in zip(tract, pitch, rate, declination, seeds.tolist())]


def _tracks(word: str, speaker: Speaker, jitter_seed: int) -> np.ndarray:
    """Per-frame parameters of one word: rows AV, AH, AF, FC, FB, F1, F2, F3 (formants before the speaker's scale)."""
    rng = np.random.default_rng([speaker.seed, jitter_seed])
    phones = [PHONES[p] for p in pronunciation(word).split()]
    lengths = [
        max(2, round(p.duration_ms * rng.uniform(0.85, 1.15) / speaker.rate / (1000 * HOP / SAMPLE_RATE)))
        for p in phones
    ]
    total = sum(lengths)
    out = np.zeros((8, total), dtype=np.float32)
    out[5:] = np.nan
    start = 0
    for index, (phone, n) in enumerate(zip(phones, lengths)):
        span = slice(start, start + n)
        following_vowel = index + 1 < len(phones) and phones[index + 1].kind in ("vowel", "glide")
        if phone.formants is not None:
            shift = rng.uniform(0.95, 1.05, 3)
            begin = np.asarray(phone.formants) * shift
            end = np.asarray(phone.end_formants or phone.formants) * shift
            out[5:, span] = begin[:, None] + (end - begin)[:, None] * np.linspace(0, 1, n)[None, :]
        if phone.kind in ("vowel", "glide", "nasal"):
            out[0, span] = phone.level
        elif phone.kind in ("fric", "vfric"):
            out[2, span], out[3, span], out[4, span] = phone.level, *phone.band
            if phone.kind == "vfric":
                out[0, span] = 0.3
        elif phone.kind == "h":
            out[1, span] = phone.level
        else:  # a stop: closure, a burst of one or two frames, then aspiration before a vowel if unvoiced
            burst = 2 if phone.kind == "stop" else 1
            aspiration = max(1, n // 3) if phone.kind == "stop" and following_vowel else 0
            closure = max(1, n - burst - aspiration)
            if phone.kind == "vstop":
                out[0, start : start + closure] = 0.06  # voice bar
            b = slice(start + closure, start + closure + burst)
            out[2, b], out[3, b], out[4, b] = phone.level, *phone.band
            out[1, start + closure + burst : start + n] = 0.4
        start += n
    frames = np.arange(total)
    for row in range(5, 8):
        known = ~np.isnan(out[row])
        out[row] = np.interp(frames, frames[known], out[row, known]) if known.any() else VOWELS["ah"][row - 5]
    out[5:] = _smooth(out[5:], 5)
    out[:3] = _smooth(out[:3], 3)
    return out


def _smooth(rows: np.ndarray, width: int) -> np.ndarray:
    kernel = np.ones(width, dtype=np.float32) / width
    padded = np.pad(rows, ((0, 0), (width // 2, width // 2)), mode="edge")
    return np.stack([np.convolve(r, kernel, mode="valid") for r in padded])


def word_tracks(word: str, speaker: Speaker, variant: int) -> np.ndarray:
    """The frame parameters of ``word`` said by ``speaker``; ``variant`` picks the per-phone deviations."""
    return _tracks(word, speaker, variant)


def rendered_length(tracks: np.ndarray) -> int:
    """Samples of the waveform :func:`render` makes from ``tracks``."""
    return (tracks.shape[1] + 2) * HOP


def render(tracks: list[np.ndarray], speakers: list[Speaker], seed: int, chunk: int = 32) -> list[np.ndarray]:
    """Waveforms (int16, 16 kHz) of the words described by ``tracks[i]`` (see :func:`word_tracks`)."""
    order = sorted(range(len(tracks)), key=lambda i: tracks[i].shape[1])  # similar lengths pad less
    generator = torch.Generator().manual_seed(seed)
    out: list[np.ndarray] = [np.empty(0, np.int16)] * len(tracks)
    with cpu_threads(1):  # small ops: on a busy machine one thread is several times faster than two
        for start in range(0, len(order), chunk):
            picked = order[start : start + chunk]
            waves = _render_chunk([tracks[i] for i in picked], [speakers[i] for i in picked], generator)
            for i, wave in zip(picked, waves):
                out[i] = wave
    return out


def render_words(words: list[str], speakers: list[Speaker], seed: int) -> list[np.ndarray]:
    """Waveforms (int16, 16 kHz, lengths vary with word and rate) of ``words[i]`` spoken by ``speakers[i]``."""
    return render([_tracks(w, s, i) for i, (w, s) in enumerate(zip(words, speakers))], speakers, seed)


_FORMANT_STEP = 10.0  # Hz between rows of the resonator tables
_BANDWIDTHS = (70.0, 100.0, 140.0, 250.0, 300.0)
_BAND_STEP = 50.0


@lru_cache(maxsize=1)
def _tables() -> tuple[torch.Tensor, torch.Tensor]:
    """Log-magnitude responses of the five formant resonators (rows: centre frequency) and of the source tilt."""
    freqs = torch.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1, dtype=torch.float64)[None, :]
    centres = torch.arange(0, SAMPLE_RATE / 2 + _FORMANT_STEP, _FORMANT_STEP, dtype=torch.float64)[:, None]
    centres = centres.clamp(min=50.0)
    rows = [
        2 * centres.log() - 0.5 * torch.log((centres**2 - freqs**2) ** 2 + (b * freqs) ** 2 + 1e-9) for b in _BANDWIDTHS
    ]
    tilt = -0.5 * torch.log1p((freqs[0] / 150) ** 2)
    return torch.stack(rows).float(), tilt.float()


def _render_chunk(tracks: list[np.ndarray], speakers: list[Speaker], generator: torch.Generator) -> list[np.ndarray]:
    frames = max(t.shape[1] for t in tracks) + 3  # silent frames around the word let the windows ring out
    params = np.zeros((len(tracks), frames, 8), dtype=np.float32)
    params[:, :, 5:] = np.array(VOWELS["ah"], dtype=np.float32)
    for i, t in enumerate(tracks):
        params[i, 1 : 1 + t.shape[1]] = t.T
        params[i, 1 + t.shape[1] :, 5:] = t[5:, -1]
    p = torch.from_numpy(params)  # (B, frames, 8)
    count, samples = len(tracks), (frames - 1) * HOP
    tract = torch.tensor([s.tract for s in speakers])[:, None]
    pitch = torch.tensor([s.pitch for s in speakers])[:, None]
    decline = torch.tensor([s.declination for s in speakers])[:, None]

    position = torch.linspace(0, 1, samples)[None, :]
    f0 = pitch * (1 + decline * (position - 0.3)) * (1 + 0.01 * torch.randn(count, 1, generator=generator))
    phase = torch.cumsum(f0 / SAMPLE_RATE, dim=1) + torch.rand(count, 1, generator=generator)
    pulses = torch.diff(torch.floor(phase), dim=1, prepend=torch.floor(phase[:, :1])) * torch.sqrt(SAMPLE_RATE / f0)
    window = torch.hann_window(N_FFT)
    pulse_spec = torch.view_as_real(torch.stft(pulses, N_FFT, HOP, window=window, return_complex=True))
    pulse_spec = pulse_spec.transpose(1, 2)  # (B, frames, bins, 2)
    noise_spec = torch.randn(pulse_spec.shape, generator=generator) * float(window.square().sum().div(2).sqrt())

    resonators, tilt = _tables()
    last = resonators.shape[1] - 1
    formants = torch.cat([p[:, :, 5:] * tract[:, :, None], (torch.tensor([3300.0, 3750.0]) * tract)[:, None, :]
                          .expand(-1, frames, -1)], dim=2)
    rows = (formants / _FORMANT_STEP).round().long().clamp(0, last)
    log_envelope = tilt + sum(resonators[i][rows[:, :, i]] for i in range(len(_BANDWIDTHS)))
    envelope = log_envelope.exp()  # (B, frames, bins)
    centres = (p[:, :, 3] * tract.clamp(max=1.1) / _BAND_STEP).round().long()
    widths = p[:, :, 4].round().long()
    keys, inverse = torch.unique(centres * 100_000 + widths, return_inverse=True)
    freqs = torch.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)[None, :]
    key_centre, key_width = (keys // 100_000).float()[:, None] * _BAND_STEP, (keys % 100_000).float()[:, None]
    band = torch.exp(-0.5 * ((freqs - key_centre) / (key_width.clamp(min=1.0) / 2)) ** 2)[inverse]

    voiced = envelope * p[:, :, 0:1]
    unvoiced = 0.3 * envelope * p[:, :, 1:2] + band * p[:, :, 2:3]
    spec = pulse_spec * voiced[..., None] + noise_spec * unvoiced[..., None]
    spec = torch.view_as_complex(spec.transpose(1, 2).contiguous())
    waves = torch.istft(spec, N_FFT, HOP, window=window, length=samples)

    result = []
    for wave, t in zip(waves, tracks):
        wave = wave[: rendered_length(t)]
        rms = wave.square().mean().sqrt().clamp(min=1e-8)
        scaled = (wave / rms * 0.1 * 32767).clamp(-32767, 32767)
        result.append(scaled.round().to(torch.int16).numpy())
    return result


def pink_noise(samples: int, rng: np.random.Generator, slope: float = 1.0) -> np.ndarray:
    """Noise whose power falls as 1/f**slope (0 white, 1 pink, 2 brown), scaled to unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1 / SAMPLE_RATE)
    spectrum *= 1 / np.maximum(freqs, 20.0) ** (slope / 2)
    noise = np.fft.irfft(spectrum, samples)
    return (noise / max(float(np.sqrt(np.mean(noise**2))), 1e-8)).astype(np.float32)


def noise_recordings(seconds: float, seed: int) -> dict[str, np.ndarray]:
    """Long background recordings, as in Speech Commands' ``_background_noise_``: white, pink, brown, hum, babble."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    hum = sum(np.sin(2 * math.pi * 50 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 8))
    hum = hum + 0.3 * pink_noise(n, rng, 1.0)
    speakers = sample_speakers(24, rng)
    words = [list(WORDS)[i] for i in rng.integers(0, len(WORDS), 24)]
    babble = np.zeros(n, dtype=np.float32)
    for wave in render_words(words, speakers, seed):
        for _ in range(int(seconds)):
            at = int(rng.integers(0, n - len(wave)))
            babble[at : at + len(wave)] += wave.astype(np.float32) / 32767 * rng.uniform(0.2, 1.0)
    babble += 0.05 * pink_noise(n, rng, 1.0)
    recordings = {
        "white_noise": rng.standard_normal(n).astype(np.float32),
        "pink_noise": pink_noise(n, rng, 1.0),
        "brown_noise": pink_noise(n, rng, 2.0),
        "hum": hum.astype(np.float32),
        "babble": babble,
    }
    return {k: (v / max(float(np.sqrt(np.mean(v**2))), 1e-8)).astype(np.float32) for k, v in recordings.items()}
