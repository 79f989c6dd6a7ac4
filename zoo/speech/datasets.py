"""Speech datasets on their upstream layouts: Speech Commands, LibriSpeech, and the user's own files.

Every loader returns an :class:`AudioSplit` whose items are ``(waveform, label, transcript)``: a mono float32
waveform at the split's sample rate, a class index (-1 where the data has no classes) and the words said ("" for
silence). Keyword data carries both, so a keyword set also trains a speech-to-text model on single words.

    python -m zoo.train --task speech --dataset speech_commands data.args.root=~/data/speech_commands_v0.02
    python -m zoo.train --task speech --model crnn_ctc --dataset librispeech data.args.root=~/data
    python -m zoo.train --task speech --model crnn_ctc --dataset manifest data.args.train=train.csv
    python -m zoo.train --task speech --dataset audio_folder data.args.root=my_words/
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir, download_hint
from zoo.speech.audio import AUDIO_EXTENSIONS, fix_length, load_audio

SPLITS = ("train", "val", "test")


@dataclass
class AudioSplit:
    """One split and what the task needs to know about it."""

    dataset: Dataset  # items (waveform (samples,), label index or -1, transcript); ``dataset.texts`` lists the latter
    sample_rate: int
    classes: list[str] | None  # None: transcripts only
    clip_samples: int = 0  # the fixed length of keyword clips; 0 for utterances of any length
    noise: list[Tensor] = field(default_factory=list)  # background recordings for training augmentation
    lengths: list[int] | None = None  # a size per item (samples, or bytes of compressed files), for bucketing
    stream: Any = None  # a long recording with wake words at known times (zoo.speech.stream.LongAudio)


def check_split(split: str, name: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset {name!r}. Valid splits: {', '.join(SPLITS)}.")


class AudioFiles(Dataset):
    """Entries ``(path or None, label, transcript)``; None is a silence clip cut from the noise recordings."""

    def __init__(self, entries: list[tuple[str | None, int, str]], sample_rate: int, clip_samples: int = 0,
                 noise: list[Tensor] | None = None, seed: int = 0):
        self.entries, self.sample_rate, self.clip_samples = entries, sample_rate, clip_samples
        self.noise, self.seed = noise or [], seed

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def texts(self) -> list[str]:
        return [entry[2] for entry in self.entries]

    def __getitem__(self, index: int) -> tuple[Tensor, int, str]:
        path, label, text = self.entries[index]
        if path is None:
            wave = silence_clip(self.noise, self.clip_samples, np.random.default_rng([self.seed, index]))
        else:
            wave = load_audio(path, self.sample_rate)
        if self.clip_samples:
            wave = fix_length(wave, self.clip_samples)
        return wave, label, text


def silence_clip(noise: list[Tensor], samples: int, rng: np.random.Generator) -> Tensor:
    """An excerpt of a background recording at a random level (log-uniform over 30 dB), as ``_silence_``."""
    if not noise:
        return torch.zeros(samples)
    recording = noise[int(rng.integers(len(noise)))]
    start = int(rng.integers(0, max(1, len(recording) - samples)))
    return recording[start : start + samples] * float(np.exp(rng.uniform(np.log(0.03), np.log(1.0))))


def _read_noise(folder: Path, sample_rate: int) -> list[Tensor]:
    if not folder.is_dir():
        return []
    return [load_audio(p, sample_rate) for p in sorted(folder.iterdir()) if p.suffix.lower() in AUDIO_EXTENSIONS]


def download_and_extract(url: str, destination: Path, sha256: str = "") -> None:
    """Fetch a .tar.gz, check its sha256 when one is known, and unpack it into ``destination``, refusing members
    that would land outside it."""
    destination.mkdir(parents=True, exist_ok=True)
    archive = destination / url.rsplit("/", 1)[-1]
    partial = archive.with_name(archive.name + ".partial")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
                digest.update(block)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise DatasetNotFoundError(f"could not download {url} ({error}); fetch it by hand and extract it into "
                                   f"{destination}") from error
    if sha256 and digest.hexdigest() != sha256:
        partial.unlink()
        raise DatasetNotFoundError(f"{url} arrived with sha256 {digest.hexdigest()}, not the published {sha256}; "
                                   "nothing was kept. Try again, or fetch it by hand")
    partial.replace(archive)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    archive.unlink()


# The archives' sha256 as torchaudio's dataset modules publish them (torchaudio/datasets/speechcommands.py and
# librispeech.py).
ARCHIVE_SHA256 = {
    "speech_commands_v0.01.tar.gz": "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d",
    "speech_commands_v0.02.tar.gz": "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
    "dev-clean.tar.gz": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "dev-other.tar.gz": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-clean.tar.gz": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other.tar.gz": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
    "train-clean-100.tar.gz": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "train-clean-360.tar.gz": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
    "train-other-500.tar.gz": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
}


def _fetch(url: str, destination: Path) -> None:
    download_and_extract(url, destination, ARCHIVE_SHA256.get(url.rsplit("/", 1)[-1], ""))


# --- Speech Commands ------------------------------------------------------------------------------------------------

COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
NOISE_FOLDER = "_background_noise_"
_SC_URL = "http://download.tensorflow.org/data/speech_commands_v0.0{}.tar.gz"


def speech_commands(
    split: str,
    root: str | None = None,
    download: bool = False,
    version: int = 2,
    classes: str = "commands",
    unknown_percent: float = 10.0,
    silence_percent: float = 10.0,
    seed: int = 0,
) -> AudioSplit:
    """Speech Commands v1 or v2 as extracted from its archive: ``root/<word>/<speaker>_nohash_<n>.wav``.

    ``validation_list.txt`` and ``testing_list.txt`` name the val and test files; the rest is train.
    ``classes="commands"`` is the standard 12-class setup: the ten commands, ``_unknown_`` (other words, sampled to
    ``unknown_percent`` of the split's command clips) and ``_silence_`` (``silence_percent`` of them, cut from
    ``_background_noise_``). ``classes="all"`` uses every word folder (30 in v1, 35 in v2) and nothing else.
    """
    check_split(split, "speech_commands")
    if version not in (1, 2):
        raise ConfigError(f"data.args.version must be 1 or 2 (Speech Commands v0.01 or v0.02), got {version}")
    if classes not in ("commands", "all"):
        raise ConfigError(f"data.args.classes must be 'commands' (12 classes) or 'all' (every word), got {classes!r}")
    folder = Path(root).expanduser() if root else data_dir() / f"speech_commands_v0.0{version}"
    lists = [folder / "validation_list.txt", folder / "testing_list.txt"]
    if not all(p.is_file() for p in lists) and download:
        _fetch(_SC_URL.format(version), folder)
    words = []
    if folder.is_dir():
        words = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_"))
    if not all(p.is_file() for p in lists) or not words:
        raise DatasetNotFoundError(
            f"Speech Commands v0.0{version} is not in {folder}: expected validation_list.txt, testing_list.txt and a "
            f"folder of WAV files per word ({folder}/yes/*.wav, ...) with {NOISE_FOLDER}/. Download "
            f"{_SC_URL.format(version)} ({'1.4' if version == 1 else '2.3'} GB) and extract it there, or set "
            f"data.args.root to where it is{download_hint(download)}"
        )
    held = {name: set(path.read_text().split()) for name, path in zip(("val", "test"), lists)}
    wanted = held.get(split)
    files = []
    for word in words:
        for path in sorted((folder / word).glob("*.wav")):
            relative = f"{word}/{path.name}"
            in_split = relative in wanted if wanted is not None else not any(relative in s for s in held.values())
            if in_split:
                files.append((str(path), word))
    noise = _read_noise(folder / NOISE_FOLDER, 16_000)
    if classes == "all":
        names = words
        entries = [(path, names.index(word), word) for path, word in files]
    else:
        names = [*COMMANDS, UNKNOWN, SILENCE]
        known = [(path, names.index(word), word) for path, word in files if word in COMMANDS]
        unknown = [(path, names.index(UNKNOWN), word) for path, word in files if word not in COMMANDS]
        rng = random.Random(f"{seed}-{split}")
        rng.shuffle(unknown)
        entries = known + unknown[: round(len(known) * unknown_percent / 100)]
        entries += [(None, names.index(SILENCE), "")] * round(len(known) * silence_percent / 100)
    if not entries:
        raise DatasetNotFoundError(f"split {split!r} of {folder} has no WAV files; check the lists and folders")
    return AudioSplit(AudioFiles(entries, 16_000, 16_000, noise, seed), 16_000, names, clip_samples=16_000,
                      noise=noise)


# --- LibriSpeech ----------------------------------------------------------------------------------------------------

_LIBRISPEECH_URL = "https://www.openslr.org/resources/12/{}.tar.gz"
_LIBRISPEECH_SUBSETS = ("dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360",
                        "train-other-500")


def librispeech(
    split: str,
    root: str | None = None,
    download: bool = False,
    train_subsets: tuple[str, ...] = ("train-clean-100",),
    val_subsets: tuple[str, ...] = ("dev-clean",),
    test_subsets: tuple[str, ...] = ("test-clean",),
) -> AudioSplit:
    """LibriSpeech as its archives extract: ``root/LibriSpeech/<subset>/<speaker>/<chapter>/`` holding
    ``<speaker>-<chapter>.trans.txt`` (``<utterance-id> TRANSCRIPT`` per line) and ``<utterance-id>.flac``.
    """
    check_split(split, "librispeech")
    subsets = {"train": train_subsets, "val": val_subsets, "test": test_subsets}[split]
    unknown = [s for s in subsets if s not in _LIBRISPEECH_SUBSETS]
    if unknown:
        raise ConfigError(f"unknown LibriSpeech subset {unknown[0]!r}; valid: {', '.join(_LIBRISPEECH_SUBSETS)}")
    base = Path(root).expanduser() if root else data_dir()
    entries: list[tuple[str | None, int, str]] = []
    lengths: list[int] = []
    for subset in subsets:
        folder = next((f for f in (base / "LibriSpeech" / subset, base / subset) if f.is_dir()), None)
        if folder is None and download:
            _fetch(_LIBRISPEECH_URL.format(subset), base)
            folder = base / "LibriSpeech" / subset
        if folder is None or not folder.is_dir():
            raise DatasetNotFoundError(
                f"LibriSpeech {subset} is not in {base}: expected {base}/LibriSpeech/{subset}/<speaker>/<chapter>/ "
                f"with *.trans.txt and *.flac files. Download {_LIBRISPEECH_URL.format(subset)} and extract it in "
                f"{base}, or set data.args.root to the folder holding LibriSpeech/{download_hint(download)}"
            )
        for transcript in sorted(folder.glob("*/*/*.trans.txt")):
            for line in transcript.read_text().splitlines():
                utterance, _, text = line.strip().partition(" ")
                if not utterance:
                    continue
                audio = transcript.parent / f"{utterance}.flac"
                if not audio.is_file():
                    raise DatasetNotFoundError(f"{transcript} names {utterance}, but {audio} is missing")
                entries.append((str(audio), -1, text.strip()))
                lengths.append(audio.stat().st_size)
    if not entries:
        raise DatasetNotFoundError(f"no *.trans.txt files under {base} for LibriSpeech {', '.join(subsets)}")
    return AudioSplit(AudioFiles(entries, 16_000), 16_000, None, lengths=lengths)


# --- the user's own files --------------------------------------------------------------------------------------------


def manifest(
    split: str,
    root: str | None = None,
    download: bool = False,
    train: str | None = None,
    val: str | None = None,
    path_column: str = "path",
    text_column: str = "text",
    sample_rate: int = 16_000,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> AudioSplit:
    """Your own transcribed audio: a CSV/TSV (with a header) or JSON Lines file of ``path,text`` rows.

    Paths are relative to the manifest's folder. ``train`` and ``val`` name the files (relative to ``root`` when
    given); without ``val``, a ``val_fraction`` of the training rows (chosen with ``seed``) is held out.
    """
    check_split(split, "manifest")
    if train is None:
        raise ConfigError("dataset 'manifest' needs data.args.train=FILE (a .csv, .tsv or .jsonl of path,text rows)")
    base = Path(root).expanduser() if root else None
    place = lambda p: base / Path(p).expanduser() if base is not None else Path(p).expanduser()  # noqa: E731
    rows = _read_manifest(place(train), path_column, text_column)
    if val is not None:
        rows = rows if split == "train" else _read_manifest(place(val), path_column, text_column)
    else:
        if not 0 < val_fraction < 1:
            raise ConfigError(f"data.args.val_fraction must be between 0 and 1, got {val_fraction}")
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        held = set(order[: max(1, round(val_fraction * len(rows)))])
        rows = [row for i, row in enumerate(rows) if (i in held) == (split != "train")]
    return AudioSplit(AudioFiles([(p, -1, t) for p, t in rows], sample_rate), sample_rate, None,
                      lengths=[Path(p).stat().st_size for p, _ in rows])


def _read_manifest(path: Path, path_column: str, text_column: str) -> list[tuple[str, str]]:
    if not path.is_file():
        raise DatasetNotFoundError(f"manifest {path} does not exist: check data.args.train / data.args.val (and root)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"manifest {path} is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    records: list[Any] = []
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as error:
                raise ConfigError(f"{path} line {number} is not JSON ({error}); a manifest holds one object per "
                                  "line") from None
    else:
        records = list(csv.DictReader(text.splitlines(), delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    rows = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise ConfigError(f"{path} row {number} is a {type(record).__name__}, not an object with "
                              f"{path_column!r} and {text_column!r}")
        if None in record or any(value is None for value in record.values()):
            raise ConfigError(f"{path} row {number} has more or fewer fields than the header, or a null value; fix "
                              "or remove it")
        if path_column not in record or text_column not in record:
            raise ConfigError(f"{path} row {number} lacks column {path_column!r} or {text_column!r} (it has "
                              f"{', '.join(record)}); set data.args.path_column / text_column")
        audio = Path(str(record[path_column])).expanduser()
        audio = audio if audio.is_absolute() else path.parent / audio
        if not audio.is_file():
            raise DatasetNotFoundError(f"{path} row {number} names {audio}, which does not exist")
        rows.append((str(audio), str(record[text_column])))
    if not rows:
        raise ConfigError(f"manifest {path} has no rows")
    return rows
