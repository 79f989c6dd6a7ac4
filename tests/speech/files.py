"""Tiny datasets in the exact upstream layouts, with real WAV and FLAC bytes."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def tone(freq: float, seconds: float, rate: int = 16_000, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> None:
    """PCM16 WAV through the standard library's encoder, independent of the soundfile that reads it back.

    ``samples`` is (n,) or (n, channels), floats in [-1, 1].
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.atleast_2d(samples.T).T
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def write_flac(path: Path, samples: np.ndarray, rate: int = 16_000) -> None:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, format="FLAC", subtype="PCM_16")


WORD_TONES = {"yes": 400.0, "no": 700.0, "up": 1000.0, "cat": 1500.0, "bird": 2000.0}


def speech_commands(root: Path, per_word: int = 4) -> dict[str, list[str]]:
    """``root/<word>/<speaker>_nohash_<n>.wav``, the two lists, and ``_background_noise_``.

    Of each word's clips the first is listed for validation, the second for testing, the rest are training.
    """
    lists: dict[str, list[str]] = {"validation": [], "testing": [], "train": []}
    for word, freq in WORD_TONES.items():
        for i in range(per_word):
            name = f"{word}/{i:08x}_nohash_{i % 2}.wav"
            write_wav(root / name, tone(freq, 0.6 + 0.1 * i))
            (lists["validation"] if i == 0 else lists["testing"] if i == 1 else lists["train"]).append(name)
    for kind in ("validation", "testing"):
        (root / f"{kind}_list.txt").write_text("\n".join(lists[kind]) + "\n")
    rng = np.random.default_rng(0)
    for name in ("white_noise", "pink_noise"):
        write_wav(root / "_background_noise_" / f"{name}.wav", 0.1 * rng.standard_normal(3 * 16_000))
    (root / "_background_noise_" / "README.md").write_text("background recordings\n")
    return lists


LIBRI_TEXT = {
    "train-clean-100": {"19-198-0000": "NORTHANGER ABBEY", "19-198-0001": "THIS LITTLE WORK",
                        "26-495-0000": "CHAPTER ONE"},
    "dev-clean": {"84-121123-0000": "GO DO YOU HEAR", "84-121123-0001": "BUT IN LESS THAN FIVE MINUTES"},
}


def librispeech(base: Path) -> None:
    """``base/LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` and FLAC files."""
    for subset, utterances in LIBRI_TEXT.items():
        chapters: dict[tuple[str, str], list[str]] = {}
        for utterance, text in utterances.items():
            speaker, chapter, _ = utterance.split("-")
            folder = base / "LibriSpeech" / subset / speaker / chapter
            write_flac(folder / f"{utterance}.flac", tone(300 + 10 * len(text), 0.2 + 0.02 * len(text)))
            chapters.setdefault((speaker, chapter), []).append(f"{utterance} {text}")
        for (speaker, chapter), lines in chapters.items():
            folder = base / "LibriSpeech" / subset / speaker / chapter
            (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
