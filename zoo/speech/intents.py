"""Spoken commands and their slots: the embedded set, Fluent Speech Commands, SLURP and a CSV of your own.

Every loader returns an :class:`IntentSplit` whose items are ``(waveform, slot ids, transcript)``: a mono float32
waveform at the split's sample rate, one class index per slot (in the order of ``IntentSplit.slots``) and the words
said. Fluent Speech Commands (Lugosch et al., 2019) has three slots, ``action``, ``object`` and ``location``, with
``none`` where a command names no object or place; SLURP (Bastianelli et al., 2020) has ``scenario`` and ``action``
(its intent is ``scenario_action``).

    python -m zoo.train --task speech --problem intent                                  # embedded commands
    python -m zoo.train --task speech --problem intent --dataset fluent_speech_commands \
        data.args.root=~/data/fluent_speech_commands_dataset
    python -m zoo.train --task speech --problem intent --dataset slurp data.args.root=~/slurp
    python -m zoo.train --task speech --problem intent --dataset intent_manifest data.args.train=train.csv

The embedded ``commands`` set says the 31 intents of Fluent Speech Commands ("turn on the lights in the kitchen",
"make it warmer", "bring me my socks", ...) in several phrasings each, so a slot has to be read from the words and
not from one fixed sentence; every utterance is a synthetic speaker (:mod:`zoo.speech.synth`) at its own speed over
background noise, and validation speakers are never heard in training.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.speech import synth
from zoo.speech.audio import load_audio
from zoo.speech.datasets import check_split
from zoo.speech.embedded import _mix, _noise_tensors, noise_bank

SAMPLE_RATE = synth.SAMPLE_RATE
FSC_SLOTS = ("action", "object", "location")
SLURP_SLOTS = ("scenario", "action")


@dataclass
class IntentSplit:
    """One split of spoken commands and the names of each slot's values."""

    dataset: Dataset  # items (waveform (samples,), slot ids (one per slot), transcript)
    sample_rate: int
    slots: dict[str, list[str]]  # slot name -> its values; item ids index these
    noise: list[Tensor] = field(default_factory=list)  # background recordings for training augmentation
    lengths: list[int] | None = None  # a size per item, for batching utterances of similar length


class IntentFiles(Dataset):
    """Entries ``(path, slot ids, transcript)`` read from disk on access."""

    def __init__(self, entries: list[tuple[str, tuple[int, ...], str]], sample_rate: int):
        self.entries, self.sample_rate = entries, sample_rate

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def texts(self) -> list[str]:
        return [entry[2] for entry in self.entries]

    @property
    def targets(self) -> list[tuple[int, ...]]:
        return [entry[1] for entry in self.entries]

    def __getitem__(self, index: int) -> tuple[Tensor, tuple[int, ...], str]:
        path, ids, text = self.entries[index]
        return load_audio(path, self.sample_rate), ids, text


def _slot_values(rows: list[dict[str, str]], slots: tuple[str, ...]) -> dict[str, list[str]]:
    """Each slot's values, sorted with ``none`` first where it occurs (the same on every split)."""
    out = {}
    for slot in slots:
        values = sorted({row[slot] for row in rows})
        out[slot] = sorted(values, key=lambda v: (v != "none", v))
    return out


def _entries(rows: list[dict[str, str]], slots: dict[str, list[str]], path_of, text_key: str):
    return [(path_of(row), tuple(slots[s].index(row[s]) for s in slots), row.get(text_key, "")) for row in rows]


def _sizes(entries: list[tuple[str, tuple[int, ...], str]]) -> list[int]:
    return [Path(path).stat().st_size for path, _, _ in entries]


# --- Fluent Speech Commands ------------------------------------------------------------------------------------------

_FSC_FILES = {"train": "train_data.csv", "val": "valid_data.csv", "test": "test_data.csv"}
_FSC_URL = "https://fluent.ai/fluent-speech-commands-a-dataset-for-spoken-language-understanding-research/"


def fluent_speech_commands(split: str, root: str | None = None, download: bool = False,
                           sample_rate: int = SAMPLE_RATE) -> IntentSplit:
    """Fluent Speech Commands as released: ``root/data/{train,valid,test}_data.csv`` (columns ``path``,
    ``speakerId``, ``transcription``, ``action``, ``object``, ``location``; paths like
    ``wavs/speakers/<speakerId>/<id>.wav``, relative to ``root``). ``root`` is the ``fluent_speech_commands_dataset``
    folder or the folder holding it. ``download`` is refused: the corpus is given out after registration.

    torchaudio's ``FluentSpeechCommands`` reads the same CSV but decodes audio with ``torchaudio.load`` (torchcodec
    and FFmpeg), which zoo does not require; the rows are read here with :mod:`csv` and the audio with soundfile.
    """
    check_split(split, "fluent_speech_commands")
    base = Path(root).expanduser() if root else None
    if base is not None and not (base / "data").is_dir() and (base / "fluent_speech_commands_dataset").is_dir():
        base = base / "fluent_speech_commands_dataset"
    if base is None or not (base / "data" / _FSC_FILES[split]).is_file():
        raise DatasetNotFoundError(
            f"Fluent Speech Commands is not in {base or '(no data.args.root)'}: expected data/train_data.csv, "
            f"data/valid_data.csv, data/test_data.csv and wavs/speakers/. It is given out after registration at "
            f"{_FSC_URL} (download=true cannot fetch it); set data.args.root to the extracted "
            "fluent_speech_commands_dataset folder"
        )
    tables = {name: _read_csv(base / "data" / file, ("path", *FSC_SLOTS)) for name, file in _FSC_FILES.items()
              if (base / "data" / file).is_file()}
    slots = _slot_values([row for rows in tables.values() for row in rows], FSC_SLOTS)
    entries = _entries(tables[split], slots, lambda row: str(base / row["path"]), "transcription")
    missing = [path for path, _, _ in entries[:50] if not Path(path).is_file()]
    if missing:
        raise DatasetNotFoundError(f"{base / 'data' / _FSC_FILES[split]} names {missing[0]}, which is missing; "
                                   "extract wavs/ next to data/")
    return IntentSplit(IntentFiles(entries, sample_rate), sample_rate, slots, lengths=_sizes(entries))


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
        rows = list(csv.DictReader(handle, dialect=dialect))
    if not rows:
        raise DatasetNotFoundError(f"{path} holds no rows")
    absent = [column for column in required if column not in rows[0]]
    if absent:
        raise ConfigError(f"{path} has no column {absent[0]!r} (columns: {', '.join(rows[0])})")
    return rows


# --- SLURP --------------------------------------------------------------------------------------------------------

_SLURP_FILES = {"train": "train.jsonl", "val": "devel.jsonl", "test": "test.jsonl"}
_SLURP_URL = "https://github.com/pswietojanski/slurp"


def slurp(split: str, root: str | None = None, download: bool = False, synthetic: bool = False,
          headset_only: bool = False, sample_rate: int = SAMPLE_RATE) -> IntentSplit:
    """SLURP as its repository lays it out: ``root/dataset/slurp/{train,devel,test}.jsonl`` (and
    ``train_synthetic.jsonl``) with the audio its script fetches in ``root/audio/slurp_real/`` and
    ``root/audio/slurp_synth/``. Each line is one utterance (``sentence``, ``scenario``, ``action``, ``intent``)
    with its ``recordings``; every recording is an item. Slots: ``scenario`` and ``action``.

    ``synthetic=true`` adds ``train_synthetic.jsonl`` (text-to-speech audio) to the training split;
    ``headset_only=true`` keeps the close-talk recordings (``*-headset.flac``) only.
    """
    check_split(split, "slurp")
    base = Path(root).expanduser() if root else None
    folder = next((f for f in ((base / "dataset" / "slurp"), base) if (f / _SLURP_FILES[split]).is_file()), None) \
        if base is not None else None
    if folder is None:
        raise DatasetNotFoundError(
            f"SLURP is not in {base or '(no data.args.root)'}: expected dataset/slurp/train.jsonl, devel.jsonl, "
            f"test.jsonl and audio/slurp_real/*.flac. Clone {_SLURP_URL}, run its scripts/download_audio.sh, and set "
            "data.args.root to the clone"
        )
    audio = base / "audio" if (base / "audio").is_dir() else folder
    files = [(folder / _SLURP_FILES[split], audio / "slurp_real")]
    if split == "train" and synthetic:
        files.append((folder / "train_synthetic.jsonl", audio / "slurp_synth"))
    every = [(folder / name, audio / "slurp_real") for name in _SLURP_FILES.values() if (folder / name).is_file()]
    slots = _slot_values([row for path, _ in every for row in _read_jsonl(path)], SLURP_SLOTS)
    entries = []
    for path, recordings in files:
        if not path.is_file():
            raise DatasetNotFoundError(f"{path} does not exist (set data.args.synthetic=false to leave it out)")
        for row in _read_jsonl(path):
            for recording in row.get("recordings", []):
                name = recording["file"]
                if headset_only and not name.endswith("-headset.flac"):
                    continue
                ids = tuple(slots[s].index(row[s]) for s in SLURP_SLOTS)
                entries.append((str(recordings / name), ids, row.get("sentence", "")))
    if not entries:
        raise DatasetNotFoundError(f"{files[0][0]} lists no recordings")
    missing = [p for p, _, _ in entries[:50] if not Path(p).is_file()]
    if missing:
        raise DatasetNotFoundError(f"{files[0][0]} names {missing[0]}, which is missing; run the repository's "
                                   "scripts/download_audio.sh and extract the audio into audio/")
    return IntentSplit(IntentFiles(entries, sample_rate), sample_rate, slots, lengths=_sizes(entries))


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ConfigError(f"{path}:{number} is not JSON: {error}") from error
    for number, row in enumerate(rows, start=1):
        absent = [key for key in SLURP_SLOTS if key not in row]
        if absent:
            raise ConfigError(f"{path}: row {number} has no {absent[0]!r} field")
    return rows


# --- your own recordings ------------------------------------------------------------------------------------------


def intent_manifest(
    split: str,
    root: str | None = None,
    download: bool = False,
    train: str | None = None,
    val: str | None = None,
    path_column: str = "path",
    slot_columns: tuple[str, ...] = FSC_SLOTS,
    text_column: str = "transcription",
    sample_rate: int = SAMPLE_RATE,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> IntentSplit:
    """Your own commands: a CSV/TSV with a header of ``path`` and one column per slot (``slot_columns``), paths
    relative to the file. Without ``val``, ``val_fraction`` of the training rows (chosen with ``seed``) is held
    out. A ``text_column`` is read when present (it is only shown)."""
    check_split(split, "intent_manifest")
    if train is None:
        raise ConfigError("dataset 'intent_manifest' needs data.args.train=FILE (a .csv or .tsv with path and "
                          f"{', '.join(slot_columns)} columns)")
    base = Path(root).expanduser() if root else None
    place = lambda p: (base / Path(p).expanduser()) if base is not None else Path(p).expanduser()  # noqa: E731
    required = (path_column, *slot_columns)
    paths = {"train": place(train), **({"val": place(val)} if val else {})}
    for path in paths.values():
        if not path.is_file():
            raise DatasetNotFoundError(f"{path} does not exist: check data.args.train / data.args.val (and root)")
    tables = {name: _read_csv(path, required) for name, path in paths.items()}
    slots = _slot_values([row for rows in tables.values() for row in rows], tuple(slot_columns))
    if val:
        rows, folder = (tables["train"], paths["train"].parent) if split == "train" else \
            (tables["val"], paths["val"].parent)
    else:
        if not 0 < val_fraction < 1:
            raise ConfigError(f"data.args.val_fraction must be between 0 and 1, got {val_fraction}")
        order = list(range(len(tables["train"])))
        random.Random(seed).shuffle(order)
        held = set(order[: max(1, round(val_fraction * len(order)))])
        rows = [row for i, row in enumerate(tables["train"]) if (i in held) == (split != "train")]
        folder = paths["train"].parent
    entries = _entries(rows, slots, lambda row: str(folder / row[path_column]), text_column)
    return IntentSplit(IntentFiles(entries, sample_rate), sample_rate, slots, lengths=_sizes(entries))


# --- the embedded commands ----------------------------------------------------------------------------------------

FSC_VALUES: dict[str, list[str]] = {
    "action": ["activate", "bring", "change language", "deactivate", "decrease", "increase"],
    "object": ["none", "Chinese", "English", "German", "Korean", "heat", "juice", "lamp", "lights", "music",
               "newspaper", "shoes", "socks", "volume"],
    "location": ["none", "bedroom", "kitchen", "washroom"],
}
_ROOMS = {"kitchen": ("kitchen",), "bedroom": ("bedroom",), "washroom": ("washroom", "bathroom")}
_SWITCH = {
    "activate": ["turn on the {x}{in}", "switch on the {x}{in}", "turn the {x} on{in}", "{x} on{in}"],
    "deactivate": ["turn off the {x}{in}", "switch off the {x}{in}", "turn the {x} off{in}", "{x} off{in}"],
}
_MUSIC = {
    "activate": ["play the music", "play music", "turn on the music", "start the music", "play some music"],
    "deactivate": ["stop the music", "pause the music", "turn off the music", "stop music", "music off"],
}
_LEVEL = {
    ("increase", "heat"): ["increase the heat{in}", "turn up the heat{in}", "turn the heat up{in}",
                           "make it warmer{in}", "increase the temperature{in}", "raise the temperature{in}",
                           "turn up the heating{in}", "more heat{in}"],
    ("decrease", "heat"): ["decrease the heat{in}", "turn down the heat{in}", "turn the heat down{in}",
                           "make it cooler{in}", "decrease the temperature{in}", "lower the temperature{in}",
                           "turn down the heating{in}", "less heat{in}"],
    ("increase", "volume"): ["increase the volume", "turn up the volume", "turn the volume up", "make it louder",
                             "louder", "volume up", "turn up the sound", "raise the volume"],
    ("decrease", "volume"): ["decrease the volume", "turn down the volume", "turn the volume down",
                             "make it quieter", "quieter", "volume down", "turn down the sound", "lower the volume"],
}
_LANGUAGE = ["change the language to {x}", "change language to {x}", "switch to {x}", "set my language to {x}",
             "use {x}", "switch the language to {x}"]
_ANY_LANGUAGE = ["change language", "change the language", "switch language", "switch the language",
                 "change my language"]
_BRING = ["bring me the {x}", "bring me my {x}", "get me the {x}", "fetch the {x}", "bring the {x}", "i need my {x}",
          "get my {x}"]
_THINGS = {"newspaper": ("newspaper", "paper"), "juice": ("juice",), "socks": ("socks",), "shoes": ("shoes",)}


def command_intents() -> list[tuple[str, str, str]]:
    """The 31 (action, object, location) triples of Fluent Speech Commands."""
    out = [("change language", "none", "none"), *[("change language", x, "none") for x in
                                                   ("Chinese", "Korean", "English", "German")]]
    for action in ("activate", "deactivate"):
        out += [(action, "lamp", "none"), *[(action, "lights", r) for r in ("none", *_ROOMS)], (action, "music", "none")]
    for action in ("increase", "decrease"):
        out += [*[(action, "heat", r) for r in ("none", *_ROOMS)], (action, "volume", "none")]
    return out + [("bring", x, "none") for x in _THINGS]


def phrasings(action: str, obj: str, location: str) -> list[str]:
    """Every way the embedded set says an intent, lower case, words the synthesiser knows."""
    rooms = [""] if location == "none" else [f" in the {word}" for word in _ROOMS[location]]
    if action == "change language":
        if obj == "none":
            return list(_ANY_LANGUAGE)
        return [t.format(x=obj.lower()) for t in _LANGUAGE]
    if action == "bring":
        return [t.format(x=word) for t in _BRING for word in _THINGS[obj]]
    if obj == "music":
        return list(_MUSIC[action])
    if obj in ("lights", "lamp"):
        texts = [t.format(x=obj, **{"in": room}) for t in _SWITCH[action] for room in rooms]
        if obj == "lights" and location != "none":  # "turn on the kitchen lights"
            verb = "on" if action == "activate" else "off"
            texts += [f"turn {verb} the {word} lights" for word in _ROOMS[location]]
        return texts
    return [t.format(**{"in": room}) for t in _LEVEL[action, obj] for room in rooms]


class Commands(Dataset):
    """Items ``(waveform, (action, object, location) ids, transcript)``: one synthetic speaker saying a command."""

    _CHUNK = 16

    def __init__(self, plans: list[tuple[synth.Speaker, list[str], list[int], tuple[int, ...]]], seed: int,
                 stream: int, snr_db: tuple[float, float]):
        self.plans, self.seed, self.stream, self.snr_db = plans, seed, stream, snr_db
        self.noise = noise_bank(seed)
        self.chunks: dict[int, list[list[np.ndarray]]] = {}

    def __len__(self) -> int:
        return len(self.plans)

    @property
    def texts(self) -> list[str]:
        return [" ".join(plan[1]) for plan in self.plans]

    @property
    def targets(self) -> list[tuple[int, ...]]:
        return [plan[3] for plan in self.plans]

    def _words(self, index: int) -> list[np.ndarray]:
        chunk = index // self._CHUNK
        if chunk not in self.chunks:
            plans = self.plans[chunk * self._CHUNK : (chunk + 1) * self._CHUNK]
            tracks = [synth.word_tracks(w, plan[0], i * 31 + j) for i, plan in enumerate(plans)
                      for j, w in enumerate(plan[1])]
            speakers = [plan[0] for plan in plans for _ in plan[1]]
            rendered = iter(synth.render(tracks, speakers, self.seed * 100_003 + self.stream * 1_000 + chunk))
            self.chunks[chunk] = [[next(rendered) for _ in plan[1]] for plan in plans]
        return self.chunks[chunk][index % self._CHUNK]

    def __getitem__(self, index: int) -> tuple[Tensor, tuple[int, ...], str]:
        speaker, words, gaps, ids = self.plans[index]
        rng = np.random.default_rng([self.seed, self.stream, index])
        at, parts = gaps[0], []
        for word, gap in zip(self._words(index), gaps[1:]):
            parts.append((at, word))
            at += len(word) + gap
        return _mix(at, parts, rng, self.noise, self.snr_db), ids, " ".join(words)


NUM_COMMANDS_TRAIN, NUM_COMMANDS_VAL = 3000, 500
_COMMAND_SPEAKERS = {"train": 300, "val": 80}
_COMMAND_STREAMS = {"train": 21, "val": 22}


def commands(split: str, root: str | None = None, download: bool = False, num_train: int = NUM_COMMANDS_TRAIN,
             num_val: int = NUM_COMMANDS_VAL, snr_db: tuple[float, float] = (5.0, 25.0),
             speed: tuple[float, float] = (0.8, 1.25), seed: int = 0) -> IntentSplit:
    """Generated spoken commands in the Fluent Speech Commands scheme; ``root`` and ``download`` are unused.

    Each item picks one of the 31 intents, one of its phrasings, a speaker of the split and a speed (``speed`` times
    the speaker's own rate), and mixes it over background noise at an SNR drawn from ``snr_db``. ``test`` is
    ``val``: the generator has no third distribution.
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r} for dataset 'commands'. Valid splits: train, val ('test' = val).")
    which = "train" if split == "train" else "val"
    count = num_train if which == "train" else num_val
    dataset = _commands(which, count, tuple(snr_db), tuple(speed), seed)
    return IntentSplit(dataset, SAMPLE_RATE, {k: list(v) for k, v in FSC_VALUES.items()},
                       noise=list(map(_noise_tensors, noise_bank(seed))),
                       lengths=[sum(plan[2]) + 3000 * len(plan[1]) for plan in dataset.plans])


@lru_cache(maxsize=4)
def _commands(which: str, count: int, snr_db: tuple[float, float], speed: tuple[float, float], seed: int) -> Commands:
    stream = _COMMAND_STREAMS[which]
    speakers = synth.sample_speakers(_COMMAND_SPEAKERS[which], np.random.default_rng([seed, stream, 1]))
    intents = command_intents()
    texts = [phrasings(*intent) for intent in intents]
    rng = np.random.default_rng([seed, stream])
    plans = []
    for _ in range(count):
        choice = int(rng.integers(len(intents)))
        words = texts[choice][int(rng.integers(len(texts[choice])))].split()
        if rng.random() < 0.1:
            words = ["please", *words] if rng.random() < 0.5 else [*words, "please"]
        speaker = speakers[int(rng.integers(len(speakers)))]
        speaker = replace(speaker, rate=speaker.rate * float(rng.uniform(*speed)))
        gaps = [int(rng.uniform(0.1, 0.4) * SAMPLE_RATE), *(int(rng.uniform(0.0, 0.12) * SAMPLE_RATE)
                                                           for _ in words[1:]), int(rng.uniform(0.1, 0.4) * SAMPLE_RATE)]
        ids = tuple(FSC_VALUES[slot].index(value) for slot, value in zip(FSC_SLOTS, intents[choice]))
        plans.append((speaker, words, gaps, ids))
    return Commands(plans, seed, stream, snr_db)
