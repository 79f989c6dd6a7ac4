"""Keyword data from a folder of recordings, labelled by subfolder or by a pattern in the file name.

    root/<label>/*.wav                      label_from=folder (root/train/... and root/val/... for fixed splits)
    root/0_1_1_0_0_1_0_1.wav                label_from=filename pattern='[01]' segment=true label_names={0: no, 1: yes}

With ``segment=true`` a recording holds several words, one per pattern match in its name, in order; it is cut at
its pauses (an energy detector on 10 ms frames) and a recording whose pause count does not fit is left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.speech.audio import AUDIO_EXTENSIONS, fix_length, from_int16, load_audio, to_int16
from zoo.speech.datasets import NOISE_FOLDER, AudioFiles, AudioSplit, _read_noise, check_split
from zoo.splits import no_split, seeded_parts


def audio_folder(
    split: str,
    root: str | None = None,
    download: bool = False,
    label_from: str = "folder",
    pattern: str = r"^([^_.]+)",
    label_names: dict[str, str] | None = None,
    segment: bool = False,
    clip_seconds: float = 1.0,
    sample_rate: int = 16_000,
    val_fraction: float = 0.1,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> AudioSplit:
    """Your own keyword recordings (WAV, FLAC, OGG, MP3), cut or padded to ``clip_seconds``.

    ``label_from="filename"`` takes the label from the first group of ``pattern`` in the file name (or, with
    ``segment``, one label per match); ``label_names`` renames raw labels (``{"0": "no", "1": "yes"}``).
    Without ``root/train`` and ``root/val`` (and ``root/test``), a ``val_fraction`` of the recordings (and a
    ``test_fraction``) chosen with ``seed`` is held out. Files left out (other types, outside the label folders,
    recordings that do not cut into their words) are counted in the dataset's ``skipped``, which the run reports.
    """
    check_split(split, "audio_folder")
    if root is None:
        raise ConfigError("dataset 'audio_folder' needs data.args.root=DIR (a folder of audio files)")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DatasetNotFoundError(f"{base} does not exist: set data.args.root to your folder of recordings")
    if label_from not in ("folder", "filename"):
        raise ConfigError(f"data.args.label_from must be 'folder' or 'filename', got {label_from!r}")
    if segment and label_from != "filename":
        raise ConfigError("data.args.segment=true needs label_from=filename: the name says which words a file holds")
    fixed = [name for name in ("train", "val", "test") if (base / name).is_dir()]
    skipped: dict[str, list[str]] = {}
    if "train" in fixed and "val" in fixed:
        if split not in fixed:
            raise no_split("audio_folder", base, split, fixed, f"add {base / split}/ recordings")
        scans = {name: _labelled(base / name, label_from, pattern, segment, skipped) for name in fixed}
        files, every = scans[split], [f for found in scans.values() for f in found]
    else:
        every = _labelled(base, label_from, pattern, segment, skipped)
        parts = seeded_parts(len(every), val_fraction, test_fraction, seed)
        if split not in parts:
            raise no_split("audio_folder", base, split, list(parts), f"add {base}/train, val and test folders "
                           "or set data.args.test_fraction=0.1 to hold out a seeded part")
        files = [every[i] for i in parts[split]]
    names = label_names or {}
    classes = sorted({names.get(label, label) for _, labels in every for label in labels})
    clip = round(clip_seconds * sample_rate)
    noise = _read_noise(base / NOISE_FOLDER, sample_rate)
    if not segment:
        entries = [(path, classes.index(names.get(labels[0], labels[0])), names.get(labels[0], labels[0]))
                   for path, labels in files]
        dataset = AudioFiles(entries, sample_rate, clip)
        dataset.skipped = skipped  # type: ignore[attr-defined]  # reported by zoo.fit
        return AudioSplit(dataset, sample_rate, classes, clip, noise)
    clips, labels, uncut = [], [], []
    for path, raw in files:
        wave = load_audio(path, sample_rate)
        bounds = split_words(wave, len(raw), sample_rate)
        if bounds is None:
            uncut.append(path)
            continue
        for (start, end), label in zip(bounds, raw):
            clips.append(to_int16(fix_length(wave[start:end], clip)))
            labels.append(classes.index(names.get(label, label)))
    if not clips:
        raise ConfigError(f"no recording in {base} could be cut into as many words as its name holds "
                          f"({len(uncut)} tried, e.g. {uncut[:1]}); check data.args.pattern")
    dataset = SegmentedClips(clips, labels, classes)
    dataset.skipped = {**skipped, "recordings whose pauses do not cut them into the words their names hold": uncut}
    return AudioSplit(dataset, sample_rate, classes, clip, noise)


def _labelled(
    folder: Path, label_from: str, pattern: str, segment: bool, skipped: dict[str, list[str]]
) -> list[tuple[str, list[str]]]:
    """(path, raw labels) of every audio file under ``folder``; files left out are added to ``skipped``."""
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder} does not exist")
    every = sorted(p for p in folder.rglob("*") if p.is_file() and NOISE_FOLDER not in p.parts)
    files = [p for p in every if p.suffix.lower() in AUDIO_EXTENSIONS]
    others = [str(p) for p in every if p.suffix.lower() not in AUDIO_EXTENSIONS]
    if others:
        kinds = "/".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        skipped.setdefault(f"files that are not {kinds} audio", []).extend(others)
    if label_from == "folder":
        outside = [str(p) for p in files if p.parent == folder]
        if outside:
            skipped.setdefault("recordings outside the label folders", []).extend(outside)
        files = [p for p in files if p.parent != folder]
        found = [(str(p), [p.relative_to(folder).parts[0]]) for p in files]
    else:
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise ConfigError(f"data.args.pattern {pattern!r} is not a regular expression: {error}") from error
        found = []
        for p in files:
            labels = [m if isinstance(m, str) else m[0] for m in regex.findall(p.stem)] if segment else []
            match = regex.search(p.stem)
            if not segment and match:
                labels = [match.group(1) if regex.groups else match.group(0)]
            if not labels:
                raise ConfigError(f"pattern {pattern!r} finds no label in the file name {p.name}; "
                                  "set data.args.pattern")
            found.append((str(p), labels))
    if not found:
        layout = "one subfolder per label" if label_from == "folder" else "audio files"
        raise DatasetNotFoundError(f"{folder} holds no {layout} ({', '.join(AUDIO_EXTENSIONS)})")
    return found


class SegmentedClips(Dataset):
    """Word clips cut from longer recordings, kept in memory as int16."""

    def __init__(self, clips: list[np.ndarray], labels: list[int], classes: list[str]):
        self.clips, self.labels, self.classes = clips, labels, classes

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def texts(self) -> list[str]:
        return [self.classes[label] for label in self.labels]

    def __getitem__(self, index: int) -> tuple[Tensor, int, str]:
        label = self.labels[index]
        return from_int16(self.clips[index]), label, self.classes[label]


def split_words(wave: Tensor, count: int, sample_rate: int) -> list[tuple[int, int]] | None:
    """``count`` (start, end) sample ranges of words separated by pauses, or None if the pauses do not fit.

    Frames louder than a threshold between the recording's floor and peak level are speech; runs closer than
    80 ms are joined and runs shorter than 50 ms dropped. Several thresholds are tried, the first giving
    ``count`` runs wins; each word is widened by 30 ms on both sides.
    """
    frame = sample_rate // 100
    frames = wave[: len(wave) // frame * frame].reshape(-1, frame)
    level = 10 * torch.log10(frames.square().mean(dim=1) + 1e-10)
    floor, peak = torch.quantile(level, 0.1).item(), torch.quantile(level, 0.99).item()
    for fraction in (0.35, 0.25, 0.45, 0.2, 0.55, 0.15):
        runs = _runs((level > floor + fraction * (peak - floor)).tolist(), join=8, shortest=5)
        if len(runs) == count:
            pad = 3 * frame
            return [(max(0, s * frame - pad), min(len(wave), e * frame + pad)) for s, e in runs]
    return None


def _runs(active: list[bool], join: int, shortest: int) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for i, on in enumerate(active):
        if not on:
            continue
        if runs and i - runs[-1][1] <= join:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    return [(s, e) for s, e in runs if e - s >= shortest]
