"""The assistant end to end: ``zoo samples`` writes a long recording of wake words and commands, ``zoo assistant``
hears each wake word and prints the command after it as a JSON line; the spoken-intent problem trains, evaluates
and predicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
import torch

import zoo
from tests.conftest import recipe_timeout, run_zoo
from zoo.api import evaluate_with_report
from zoo.speech import intents
from zoo.speech.assistant import _speech, _words, command_span

INTENT_SHRINK = ["data.args.num_train=96", "data.args.num_val=32", "trainer.epochs=1", "data.batch_size=16",
                 "trainer.progress=false", "trainer.tensorboard=false", "trainer.log_every=2"]


@pytest.fixture(scope="module")
def intent_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("intent") / "run"
    run_zoo("train", "--task", "speech", "--problem", "intent", "--output", str(run),
            *INTENT_SHRINK, timeout=recipe_timeout("speech/intent_crnn_commands"))
    return run


def test_intent_trains_evaluates_reports_and_predicts(intent_run: Path, tmp_path: Path):
    summary = json.loads((intent_run / "summary.json").read_text())
    assert summary["model"] == "intent_crnn" and summary["monitor"] == "val/accuracy"
    metrics, figures = evaluate_with_report(intent_run, report=tmp_path / "report")
    assert set(metrics) == {"val/accuracy", "val/action_accuracy", "val/object_accuracy", "val/location_accuracy",
                            "val/loss"}
    assert metrics == pytest.approx({k: v for k, v in summary["best"].items() if k.startswith("val/")}, abs=1e-6)
    assert metrics["val/accuracy"] <= min(metrics[f"val/{s}_accuracy"] for s in ("action", "object", "location"))
    assert [f.name for f in figures] == ["confusion_action.png", "confusion_object.png", "confusion_location.png"]
    wave, _, _ = intents.commands("val", num_val=4).dataset[0]
    path = tmp_path / "command.wav"
    soundfile.write(str(path), wave.numpy(), 16_000)
    [record] = zoo.predict(intent_run, [str(path)])
    assert set(record) == {"input", "intent", "slots", "confidence"} and list(record["slots"]) == list(intents.FSC_SLOTS)
    assert record["intent"] == "_".join(v.replace(" ", "_") for v in record["slots"].values())
    assert all(record["slots"][s] in intents.FSC_VALUES[s] for s in intents.FSC_SLOTS) and 0 < record["confidence"] <= 1


def test_command_span_is_the_speech_after_the_wake_word():
    rate = 16_000
    wave = torch.randn(8 * rate) * 0.001
    # the wake word (louder, its final stop's burst 60 ms after it), a command of two words, other speech
    for start, end, level in ((1.0, 1.45, 0.3), (1.51, 1.56, 0.3), (1.7, 2.1, 0.1), (2.15, 2.6, 0.1),
                              (4.0, 4.5, 0.1)):
        first, last = round(start * rate), round(end * rate)
        wave[first:last] += torch.randn(last - first) * level
    # the keyword model stands in as the loudness at the centre of each run's window
    score = lambda clips: [float(c[len(c) // 2 - 800 : len(c) // 2 + 800].std()) for c in clips]  # noqa: E731
    start, end = command_span(wave, rate, heard_s=1.3, max_command_s=5.0, pause_s=0.6, wake_score=score)
    assert abs(start / rate - 1.67) < 0.03 and abs(end / rate - 2.63) < 0.03


def test_speech_frames_by_two_thresholds_and_bursts_join_their_word():
    level = torch.tensor([0.0, 2.0, 5.0, 2.0, 0.0, 2.0, 0.0])
    assert _speech(level, high=4.0, low=1.0) == [False, True, True, True, False, False, False]
    assert _words([(0, 30), (38, 42), (60, 90), (95, 99)]) == [(0, 42), (60, 99)]
    assert _words([(0, 30), (50, 54)]) == [(0, 30), (50, 54)]  # too far after: not a closure


def test_assistant_prints_each_command_after_the_wake_word(wake_run: Path, intent_run: Path, tmp_path: Path):
    out = tmp_path / "samples"
    written = run_zoo("samples", "--task", "speech", "--problem", "intent", "--output", str(out), "--count", "3")
    assert str(out / "assistant.wav") in written.stdout.split()
    said = json.loads((out / "references.json").read_text())["assistant.wav"]
    assert len(said) == 3 and set(said[0]) == {"wake", "start", "end", "words", "slots"}
    lines = run_zoo("assistant", "--wake", str(wake_run), "--intent", str(intent_run), "--threshold", "0.5",
                    str(out / "assistant.wav")).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    heard = []
    for record in records:
        assert set(record) == {"input", "wake_word", "wake", "start", "end", "intent", "slots", "confidence"}
        match = [c for c in said if c["wake"][0] - 0.5 <= record["wake"]["time"] <= c["wake"][1] + 1.0]
        if match:
            heard.append(match[0])
            # the command's span as said, to within the energy detector's 30 ms padding and 10 ms frames
            assert abs(record["start"] - match[0]["start"]) < 0.1 and abs(record["end"] - match[0]["end"]) < 0.15
            assert record["intent"] == "_".join(v.replace(" ", "_") for v in record["slots"].values())
    assert len(heard) >= 2 and len(records) <= len(said) + 1
    wrong = run_zoo("assistant", "--wake", str(intent_run), "--intent", str(intent_run), str(out / "assistant.wav"),
                    check=False)
    assert wrong.returncode == 2 and "holds a model for intent, not for keywords" in wrong.stderr
