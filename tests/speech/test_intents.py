"""Spoken intent data: Fluent Speech Commands' and SLURP's upstream layouts and a CSV, written here with real WAV and
FLAC files, parse to the right splits and slots; the embedded commands are what their slots say."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tests.speech.files import tone
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.speech import intents, synth

FSC_ROWS = {
    "train": [("2BqVo8kVB2Skwgyb", "Turn on the lights in the kitchen", "activate", "lights", "kitchen"),
              ("2BqVo8kVB2Skwgyb", "Bring me my shoes", "bring", "shoes", "none"),
              ("35v28XaVEns4WXOv", "Decrease the heat", "decrease", "heat", "none")],
    "valid": [("4BrX8aDqK2cLZRYl", "Switch to Korean", "change language", "Korean", "none")],
    "test": [("52XVOeXMXYuaElyw", "Turn the volume up", "increase", "volume", "none"),
             ("52XVOeXMXYuaElyw", "Lights off in the bedroom", "deactivate", "lights", "bedroom")],
}


def write_fsc(root: Path) -> Path:
    """``fluent_speech_commands_dataset/data/*_data.csv`` (pandas' index column first, as released) and
    ``wavs/speakers/<speaker>/<uuid>.wav``."""
    base = root / "fluent_speech_commands_dataset"
    (base / "data").mkdir(parents=True)
    number = 0
    for subset, rows in FSC_ROWS.items():
        with (base / "data" / f"{subset}_data.csv").open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["", "path", "speakerId", "transcription", "action", "object", "location"])
            for speaker, text, action, obj, location in rows:
                path = f"wavs/speakers/{speaker}/{number:08x}-4474-11e9-a9a5-5dbec3b8816a.wav"
                soundfile.write(str(_mkdir(base / path)), tone(300 + 50 * number, 0.3 + 0.05 * number), 16_000,
                                subtype="PCM_16")
                out.writerow([number, path, speaker, text, action, obj, location])
                number += 1
    return base


def _mkdir(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_fluent_speech_commands_splits_and_slots(tmp_path):
    base = write_fsc(tmp_path)
    for root in (tmp_path, base):  # the extracted folder, or the one holding it
        train = intents.fluent_speech_commands("train", root=str(root))
        assert train.slots == {
            "action": ["activate", "bring", "change language", "deactivate", "decrease", "increase"],
            "object": ["Korean", "heat", "lights", "shoes", "volume"],
            "location": ["none", "bedroom", "kitchen"],
        }
    val, test = (intents.fluent_speech_commands(s, root=str(base)) for s in ("val", "test"))
    assert val.slots == test.slots == train.slots and (len(train.dataset), len(val.dataset), len(test.dataset)) == (3, 1, 2)
    wave, ids, text = train.dataset[0]
    assert wave.dtype == torch.float32 and len(wave) == 4800 and text == "Turn on the lights in the kitchen"
    assert [train.slots[s][i] for s, i in zip(train.slots, ids)] == ["activate", "lights", "kitchen"]
    assert [test.slots[s][i] for s, i in zip(test.slots, test.dataset[1][1])] == ["deactivate", "lights", "bedroom"]
    assert [val.slots[s][i] for s, i in zip(val.slots, val.dataset.targets[0])] == ["change language", "Korean", "none"]
    assert train.lengths == [Path(p).stat().st_size for p, _, _ in train.dataset.entries]


def test_fluent_speech_commands_errors_name_the_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="data/train_data.csv.*registration"):
        intents.fluent_speech_commands("train", root=str(tmp_path))
    base = write_fsc(tmp_path)
    next((base / "wavs").rglob("00000000-*.wav")).unlink()  # the first training row's
    with pytest.raises(DatasetNotFoundError, match="which is missing"):
        intents.fluent_speech_commands("train", root=str(base))


def write_slurp(root: Path) -> None:
    """``dataset/slurp/{train,devel,test}.jsonl`` and ``audio/slurp_real/*.flac``, as the SLURP repository has."""
    lines = {
        "train": [(1, "wake me up at nine am on friday", "alarm", "set", ["-headset", ""]),
                  (2, "olly quiet", "audio", "volume_mute", ["-headset"])],
        "devel": [(3, "what's the weather like", "weather", "query", [""])],
        "test": [(4, "set an alarm for two", "alarm", "set", ["", "-headset"])],
    }
    folder = root / "dataset" / "slurp"
    folder.mkdir(parents=True)
    for split, rows in lines.items():
        records = []
        for slurp_id, sentence, scenario, action, kinds in rows:
            recordings = []
            for n, kind in enumerate(kinds):
                name = f"audio-{1490000000 + slurp_id * 10 + n}{kind}.flac"
                soundfile.write(str(_mkdir(root / "audio" / "slurp_real" / name)), tone(500, 0.2), 16_000,
                                format="FLAC")
                recordings.append({"file": name, "wer": 0.0, "ent_wer": 0.0, "status": "correct"})
            records.append({"slurp_id": slurp_id, "sentence": sentence, "sentence_annotation": sentence,
                            "intent": f"{scenario}_{action}", "action": action, "scenario": scenario,
                            "tokens": [], "entities": [], "recordings": recordings})
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_slurp_splits_slots_and_recordings(tmp_path):
    write_slurp(tmp_path)
    train = intents.slurp("train", root=str(tmp_path))
    assert train.slots == {"scenario": ["alarm", "audio", "weather"], "action": ["query", "set", "volume_mute"]}
    assert len(train.dataset) == 3  # every recording of every utterance
    assert [(p.rsplit("/", 1)[1], ids, t) for p, ids, t in train.dataset.entries][2] == \
        ("audio-1490000020-headset.flac", (1, 2), "olly quiet")
    assert len(intents.slurp("train", root=str(tmp_path), headset_only=True).dataset) == 2
    val, test = intents.slurp("val", root=str(tmp_path)), intents.slurp("test", root=str(tmp_path))
    assert val.dataset.targets == [(2, 0)] and test.dataset.targets == [(0, 1), (0, 1)]
    wave, _, text = test.dataset[0]
    assert len(wave) == 3200 and text == "set an alarm for two"
    with pytest.raises(DatasetNotFoundError, match="train_synthetic.jsonl"):
        intents.slurp("train", root=str(tmp_path), synthetic=True)


def test_intent_manifest_reads_paths_and_slot_columns(tmp_path):
    rows = [("a.wav", "on", "lamp"), ("b.wav", "off", "lamp"), ("c.wav", "on", "tv"), ("d.wav", "off", "tv")]
    for name, _, _ in rows:
        soundfile.write(str(tmp_path / name), tone(440, 0.1, rate=8_000), 8_000)
    with (tmp_path / "train.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["path", "verb", "device"])
        out.writerows(rows)
    args = dict(train=str(tmp_path / "train.csv"), slot_columns=("verb", "device"), val_fraction=0.25)
    train, val = (intents.intent_manifest(s, **args) for s in ("train", "val"))
    assert train.slots == val.slots == {"verb": ["off", "on"], "device": ["lamp", "tv"]}
    assert len(train.dataset) == 3 and len(val.dataset) == 1
    assert len(train.dataset[0][0]) == 1600  # resampled from 8 kHz to 16 kHz
    with pytest.raises(ConfigError, match=r"no column 'action' \(columns: path, verb, device\)"):
        intents.intent_manifest("train", train=str(tmp_path / "train.csv"))


def test_every_embedded_phrasing_is_speakable_and_names_its_slots():
    triples = intents.command_intents()
    assert len(set(triples)) == 31
    for triple in triples:
        for text in intents.phrasings(*triple):
            assert all(synth.pronunciation(word) for word in text.split())
            if triple[2] != "none":
                assert any(room in text for room in intents._ROOMS[triple[2]])  # the location is said
    said = {text for triple in triples for text in intents.phrasings(*triple)}
    assert len(said) == sum(len(intents.phrasings(*t)) for t in triples)  # no phrasing means two intents


def test_embedded_commands_hold_their_speakers_apart_and_render():
    train, val = intents.commands("train", num_train=40), intents.commands("val", num_val=16)
    heard = {plan[0].seed for plan in train.dataset.plans}
    assert not heard & {plan[0].seed for plan in val.dataset.plans}
    wave, ids, text = val.dataset[3]
    triple = tuple(val.slots[s][i] for s, i in zip(val.slots, ids))
    assert text.replace("please", "").strip() in intents.phrasings(*triple)
    assert 0.5 < len(wave) / 16_000 < 6 and float(wave.abs().max()) <= 1.0 and float(wave.std()) > 0.005
    again = intents.commands("val", num_val=16).dataset[3][0]
    assert torch.equal(wave, again)
    assert np.isclose(len(val.lengths), 16)
