"""End to end through the CLI and the API: the default recipe learns, evaluate agrees, predict reads audio files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile

import zoo
from tests.conftest import SHARED_DATA, run_zoo
from zoo.api import evaluate_with_report
from zoo.speech import embedded

QUIET = {"trainer.progress": False, "trainer.tensorboard": False}


@pytest.fixture(scope="module")
def keyword_run(wake_run: Path) -> Path:
    """The default recipe shrunk to seconds (tests/speech/conftest.py), trained once for these and the stream tests."""
    return wake_run


def test_default_recipe_learns_the_embedded_keywords(keyword_run: Path) -> None:
    summary = json.loads((keyword_run / "summary.json").read_text())
    assert summary["model"] == "temporal_cnn" and summary["monitor"] == "val/accuracy"
    assert summary["best"]["val/accuracy"] >= 0.5  # chance is 1/12
    metrics, [figure] = evaluate_with_report(keyword_run, report=keyword_run / "report")
    assert metrics == pytest.approx({k: v for k, v in summary["best"].items() if k.startswith("val/")}, abs=1e-6)
    assert figure.name == "confusion_matrix.png" and figure.stat().st_size > 0


def test_predict_prints_the_command_and_probabilities(keyword_run: Path, tmp_path: Path) -> None:
    clips = embedded.keywords("val", num_val=12).dataset  # other clips of the validation speakers
    paths, truth = [], []
    for index in range(12):
        wave, label, _ = clips[index]
        paths.append(str(tmp_path / f"clip{index}.wav"))
        soundfile.write(paths[-1], wave.numpy(), 16_000)
        truth.append(embedded.KEYWORD_CLASSES[label])
    lines = run_zoo("predict", "--checkpoint", str(keyword_run), *paths).stdout.strip().splitlines()
    assert len(lines) == 12 and lines[0].startswith(f"{paths[0]}: ") and "(" in lines[0]
    predicted = [line.split(": ", 1)[1].split()[0] for line in lines]
    assert sum(p == t for p, t in zip(predicted, truth)) >= 6
    records = zoo.predict(keyword_run, paths[:2])
    assert set(records[0]) == {"input", "label", "prob", "top"} and len(records[0]["top"]) == 3
    assert records[0]["top"][0]["prob"] >= records[0]["top"][1]["prob"]


def test_speech_to_text_trains_evaluates_and_transcribes(tmp_path: Path) -> None:
    result = zoo.train(task="speech", model="crnn_ctc", output=tmp_path / "ctc", overrides={
        **QUIET, "data.args.num_train": 16, "data.args.num_val": 8, "trainer.max_steps": 2, "data.batch_size": 8})
    assert result.summary["monitor"] == "val/cer" and 0 <= result.metrics["val/cer"]
    metrics, [listing] = evaluate_with_report(result.run_dir, report=tmp_path / "report")
    assert set(metrics) == {"val/cer", "val/wer", "val/loss"}
    assert listing.read_text().startswith("CER ") and "reference:" in listing.read_text()
    clip = embedded.utterances("val", num_val=8).dataset[0][0]
    path = tmp_path / "utterance.flac"
    soundfile.write(str(path), clip.numpy(), 16_000, format="FLAC")
    [prediction] = zoo.predict(result.run_dir, [str(path)])
    assert set(prediction) == {"input", "transcript"} and isinstance(prediction["transcript"], str)
    assert set(prediction["transcript"]) <= set(" abcdefghijklmnopqrstuvwxyz")


def test_keyword_spotting_on_real_recordings(tmp_path: Path) -> None:
    source = SHARED_DATA / "speech" / "waves_yesno"
    if not source.is_dir():
        pytest.skip(f"the yes/no recordings are not in {source}")
    result = zoo.train(task="speech", dataset="audio_folder", output=tmp_path / "yesno", overrides={
        **QUIET, "data.args.root": str(source), "data.args.label_from": "filename", "data.args.pattern": "'[01]'",
        "data.args.segment": True, "data.args.label_names": {"0": "no", "1": "yes"}, "trainer.epochs": 3,
        "data.batch_size": 32})
    assert result.summary["best"]["val/accuracy"] >= 0.9  # chance is about 0.5
