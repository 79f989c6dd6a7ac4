"""The speech loaders read the upstream layouts, and say what to do when the files are not there."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.speech import files
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.speech import datasets, folders

# --- Speech Commands ------------------------------------------------------------------------------------------------


def test_speech_commands_splits_follow_the_lists(tmp_path: Path) -> None:
    lists = files.speech_commands(tmp_path)
    train = datasets.speech_commands("train", root=str(tmp_path), classes="all")
    val = datasets.speech_commands("val", root=str(tmp_path), classes="all")
    test = datasets.speech_commands("test", root=str(tmp_path), classes="all")
    assert train.classes == sorted(files.WORD_TONES) and train.clip_samples == 16_000
    assert len(train.dataset) == len(lists["train"]) and len(val.dataset) == len(test.dataset) == len(files.WORD_TONES)
    expected = {Path(p).name for p in lists["validation"]}
    assert {Path(entry[0]).name for entry in val.dataset.entries} == expected
    wave, label, text = val.dataset[0]
    assert wave.shape == (16_000,) and wave.dtype == torch.float32
    assert train.classes[label] == text == "bird"
    assert len(train.noise) == 2 and train.noise[0].shape == (48_000,)


def test_speech_commands_twelve_class_setup(tmp_path: Path) -> None:
    files.speech_commands(tmp_path, per_word=12)
    split = datasets.speech_commands("train", root=str(tmp_path), unknown_percent=50, silence_percent=25)
    assert split.classes == [*datasets.COMMANDS, "_unknown_", "_silence_"]
    labels = [entry[1] for entry in split.dataset.entries]
    known = sum(1 for label in labels if label < 10)
    assert known == 3 * 10  # yes, no, up: ten training clips each
    assert labels.count(10) == 15 and labels.count(11) == round(0.25 * known)
    unknown_words = {entry[2] for entry in split.dataset.entries if entry[1] == 10}
    assert unknown_words <= {"cat", "bird"}
    silence = split.dataset[len(split.dataset) - 1]
    assert silence[1] == 11 and silence[2] == "" and silence[0].abs().max() > 0


def test_speech_commands_missing_files_say_where_and_how(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"validation_list.txt.*speech_commands_v0.02.tar.gz"):
        datasets.speech_commands("train", root=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="train, val, test"):
        datasets.speech_commands("dev", root=str(tmp_path))


def test_download_and_extract_unpacks_an_archive(tmp_path: Path) -> None:
    source = tmp_path / "source"
    files.speech_commands(source, per_word=3)
    archive = tmp_path / "speech_commands_v0.02.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(DatasetNotFoundError, match="not the published"):
        datasets.download_and_extract(archive.as_uri(), tmp_path / "data", sha256="0" * 64)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    datasets.download_and_extract(archive.as_uri(), tmp_path / "data", sha256=digest)
    split = datasets.speech_commands("val", root=str(tmp_path / "data"), classes="all")
    assert len(split.dataset) == len(files.WORD_TONES)
    assert not (tmp_path / "data" / archive.name).exists()  # the archive goes once it is unpacked


def test_download_refuses_members_outside_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(tarfile.TarError):
        datasets.download_and_extract(archive.as_uri(), tmp_path / "data")
    assert not (tmp_path / "escaped.txt").exists()


# --- LibriSpeech ----------------------------------------------------------------------------------------------------


def test_librispeech_reads_transcripts_and_flac(tmp_path: Path) -> None:
    files.librispeech(tmp_path)
    train = datasets.librispeech("train", root=str(tmp_path))
    val = datasets.librispeech("val", root=str(tmp_path))
    assert train.classes is None and len(train.dataset) == 3 and len(val.dataset) == 2
    assert sorted(train.dataset.texts) == sorted(files.LIBRI_TEXT["train-clean-100"].values())
    wave, label, text = val.dataset[0]
    assert label == -1 and text == "GO DO YOU HEAR"
    assert wave.shape == (round((0.2 + 0.02 * len(text)) * 16_000),)
    assert len(train.lengths) == 3 and all(n > 0 for n in train.lengths)


def test_librispeech_missing_subset(tmp_path: Path) -> None:
    files.librispeech(tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"test-clean.*openslr.org/resources/12/test-clean.tar.gz"):
        datasets.librispeech("test", root=str(tmp_path))
    with pytest.raises(ConfigError, match="valid: dev-clean"):
        datasets.librispeech("train", root=str(tmp_path), train_subsets=("train-clean-1000",))


# --- manifests and folders ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_manifest_rows_relative_paths_and_held_out_share(tmp_path: Path, suffix: str) -> None:
    rows = [(f"audio/{i}.wav", f"word {i}") for i in range(10)]
    for path, _ in rows:
        files.write_wav(tmp_path / path, files.tone(500, 0.3, rate=8_000), rate=8_000)
    manifest = tmp_path / f"train{suffix}"
    if suffix == ".csv":
        manifest.write_text("path,text\n" + "".join(f"{p},{t}\n" for p, t in rows))
    else:
        manifest.write_text("".join(json.dumps({"path": p, "text": t}) + "\n" for p, t in rows))
    train = datasets.manifest("train", train=str(manifest), val_fraction=0.2)
    val = datasets.manifest("val", train=str(manifest), val_fraction=0.2)
    assert len(train.dataset) == 8 and len(val.dataset) == 2
    assert sorted(train.dataset.texts + val.dataset.texts) == sorted(t for _, t in rows)
    wave, _, _ = val.dataset[0]
    assert wave.shape == (4_800,)  # 0.3 s resampled from 8 kHz to 16 kHz


def test_manifest_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.args.train"):
        datasets.manifest("train")
    bad = tmp_path / "m.csv"
    bad.write_text("file,sentence\nx.wav,hi\n")
    with pytest.raises(ConfigError, match="path_column"):
        datasets.manifest("train", train=str(bad))
    bad.write_text("path,text\nmissing.wav,hi\n")
    with pytest.raises(DatasetNotFoundError, match="missing.wav"):
        datasets.manifest("train", train=str(bad))
    bad.write_text("path,text\nx.wav\n")  # a short line: its transcript would read "None"
    with pytest.raises(ConfigError, match="m.csv row 1 has more or fewer fields than the header"):
        datasets.manifest("train", train=str(bad))
    bad.write_bytes(b"path,text\nx.wav,caf\xe9\n")
    with pytest.raises(ConfigError, match="m.csv is not UTF-8"):
        datasets.manifest("train", train=str(bad))
    lines = tmp_path / "m.jsonl"
    lines.write_text('{"path": "x.wav", "text": "hi"}\n{"path": "y.wav", "text"\n')
    with pytest.raises(ConfigError, match="m.jsonl line 2 is not JSON"):
        datasets.manifest("train", train=str(lines))
    lines.write_text('["x.wav", "hi"]\n')
    with pytest.raises(ConfigError, match="m.jsonl row 1 is a list, not an object"):
        datasets.manifest("train", train=str(lines))


def test_audio_folder_by_subfolder_with_fixed_splits(tmp_path: Path) -> None:
    for split, count in (("train", 3), ("val", 1)):
        for word, freq in (("left", 300.0), ("right", 900.0)):
            for i in range(count):
                files.write_flac(tmp_path / split / word / f"{i}.flac", files.tone(freq, 1.4))
    train = folders.audio_folder("train", root=str(tmp_path))
    val = folders.audio_folder("val", root=str(tmp_path), clip_seconds=0.5)
    assert train.classes == val.classes == ["left", "right"]
    assert len(train.dataset) == 6 and len(val.dataset) == 2
    wave, label, text = val.dataset[1]
    assert wave.shape == (8_000,) and text == "right" and label == 1


def test_audio_folder_by_file_name_pattern(tmp_path: Path) -> None:
    for i in range(10):
        files.write_wav(tmp_path / f"{'on' if i % 2 else 'off'}_speaker{i}.wav", files.tone(400, 0.5))
    train = folders.audio_folder("train", root=str(tmp_path), label_from="filename", val_fraction=0.2)
    assert train.classes == ["off", "on"] and len(train.dataset) == 8
    with pytest.raises(ConfigError, match="finds no label"):
        folders.audio_folder("train", root=str(tmp_path), label_from="filename", pattern=r"^(\d+)_")


def test_audio_folder_segments_multi_word_recordings(tmp_path: Path) -> None:
    rate = 8_000
    rng = np.random.default_rng(0)
    for name in ("0_1_1", "1_0_0", "1_1_0", "0_0_1"):
        pieces = [0.001 * rng.standard_normal(rate // 2)]
        for digit in name.split("_"):
            pieces += [files.tone(300 if digit == "0" else 1200, 0.4, rate), 0.001 * rng.standard_normal(rate // 2)]
        files.write_wav(tmp_path / f"{name}.wav", np.concatenate(pieces), rate)
    split = folders.audio_folder("train", root=str(tmp_path), label_from="filename", pattern="[01]", segment=True,
                                 label_names={"0": "no", "1": "yes"}, val_fraction=0.25)
    assert split.classes == ["no", "yes"] and len(split.dataset) == 9
    for wave, label, text in (split.dataset[i] for i in range(len(split.dataset))):
        spectrum = torch.fft.rfft(wave).abs()
        peak_hz = int(spectrum.argmax()) * 16_000 / len(wave)
        assert (peak_hz < 700) == (text == "no") == (split.classes[label] == "no")


def test_split_words_gives_up_when_the_pauses_do_not_fit() -> None:
    rate = 16_000
    wave = torch.from_numpy(np.concatenate([np.zeros(rate), files.tone(500, 0.5), np.zeros(rate)]).astype(np.float32))
    assert folders.split_words(wave, 1, rate) is not None
    assert folders.split_words(wave, 3, rate) is None
