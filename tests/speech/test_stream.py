"""A wake word in a stream: smoothing, refractory period and matching on known score tracks; a keyword model slid over
a recording assembled here finds the wake words at their offsets; the long-audio split and its figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tests.conftest import run_zoo
from zoo.api import evaluate_with_report
from zoo.speech import embedded, stream
from zoo.speech.stream import StreamSettings


def test_windows_cover_the_recording():
    frames = stream.windows(torch.arange(25.0), clip=10, hop=4)
    assert frames.shape == (5, 10) and frames[-1, -1] == 0 and frames[-1, 0] == 16  # padded to fill the last
    assert stream.windows(torch.ones(3), clip=10, hop=4).shape == (1, 10)


def test_smoothing_refractory_period_and_peak_time():
    settings = StreamSettings(threshold=0.5, smoothing_ms=300, refractory_ms=1500, hop_ms=100)
    scores = torch.zeros(200)
    scores[50:54] = 0.9  # a wake word: the smoothed score crosses 0.5 at frame 51
    scores[58:61] = 0.9  # within the refractory period of the first: suppressed
    scores[120] = 1.0  # one window alone: smoothed to a third, below the threshold
    scores[150:155] = torch.tensor([0.6, 0.8, 1.0, 0.8, 0.6])
    found = stream.detect(scores, settings, clip_s=1.0)
    # reported at the centre of the best window near the crossing: frame 50 (first of the equal maxima), 152
    assert found == [{"time": 5.5, "score": pytest.approx(0.6, abs=1e-3)},
                     {"time": 15.7, "score": pytest.approx(0.8, abs=1e-3)}]
    assert stream.smooth(torch.tensor([3.0, 0.0, 0.0, 3.0]), 3).tolist() == [3.0, 1.5, 1.0, 1.0]
    assert [d["time"] for d in stream.detect(scores, settings, 1.0, threshold=0.3)] == [5.5, 12.5, 15.7]


def test_matching_counts_hits_and_false_alarms():
    events = [(10.0, 10.5), (30.0, 30.4)]
    assert stream.match([10.2, 10.9, 29.6, 50.0], events) == (2, 2)  # a second detection of one word is a false alarm
    assert stream.match([], events) == (0, 0)
    points = [(0.5, 1.0, 6.0), (0.8, 0.95, 1.0), (0.9, 0.7, 0.0)]
    assert stream.rate_at(points, 1.0) == 0.95 and stream.rate_at(points, 0.5) == 0.7


def test_the_long_audio_split_says_the_wake_word_at_its_times():
    audio = stream.wake_stream(1.5, "right", 0)
    assert len(audio.wave) == 90 * 16_000 and 2 <= len(audio.events) <= 6
    assert all(0 < end - start < 1.0 for start, end in audio.events)
    assert [c["wake"] for c in audio.commands] == [list(e) for e in audio.events]
    assert all(c["start"] > c["wake"][1] and c["end"] > c["start"] for c in audio.commands)
    loud = float(audio.wave[int(audio.events[0][0] * 16_000) : int(audio.events[0][1] * 16_000)].std())
    assert loud > 2 * float(audio.wave[: 16_000 // 2].std())  # the word stands out of the noise before any speech
    assert torch.equal(audio.wave, stream.wake_stream(1.5, "right", 0).wave)


def assemble(path: Path, offsets: list[float], others: list[float], seconds: float = 18.0) -> None:
    """Background noise with validation clips of the wake word at ``offsets`` and of other words at ``others``."""
    clips = embedded.keywords("val", num_val=400).dataset
    wake = [i for i in range(len(clips)) if clips.texts[i] == embedded.WAKE_WORD]
    other = [i for i in range(len(clips)) if clips.texts[i] in ("left", "yes", "no", "go")]
    rng = np.random.default_rng(0)
    noise = embedded.noise_bank(0)[1]
    wave = noise[: int(seconds * 16_000)] * 0.005
    for at, index in [*zip(offsets, wake), *zip(others, other)]:
        clip = clips[index][0].numpy()
        start = int(at * 16_000)
        wave[start : start + len(clip)] += clip
    soundfile.write(str(path), np.clip(wave + 0.001 * rng.standard_normal(len(wave)), -1, 1), 16_000)


def test_predict_stream_finds_the_wake_words_at_their_offsets(wake_run: Path, tmp_path: Path):
    path = tmp_path / "long.wav"
    offsets, others = [1.0, 7.0, 13.0], [4.0, 10.0, 15.5]
    assemble(path, offsets, others)
    # the test's keyword model trained for seconds: a lower threshold than the default 0.8
    out = run_zoo("predict", "--checkpoint", str(wake_run), "--stream", str(path), "--threshold", "0.5",
                  "--json").stdout
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["input"] == str(path) and record["wake_word"] == embedded.WAKE_WORD
    times = [d["time"] for d in record["detections"]]
    # Each one-second clip holds the word somewhere inside: a detection lies in [offset, offset + 1] give or take.
    near = lambda t, at: at - stream.TOLERANCE_S <= t <= at + 1 + stream.TOLERANCE_S  # noqa: E731
    assert all(any(near(t, at) for at in offsets) for t in times), (offsets, times)  # none on the other words
    # a model trained for seconds misses some: at least two of the three
    assert sum(any(near(t, at) for t in times) for at in offsets) >= 2, (offsets, times)
    text = run_zoo("predict", "--checkpoint", str(wake_run), "--stream", str(path), "--threshold", "0.999999")
    assert text.stdout.strip() == f"{path}: {embedded.WAKE_WORD!r} not heard"
    unknown = run_zoo("predict", "--checkpoint", str(wake_run), "--stream", "--wake-word", "marvin", str(path),
                      check=False)
    assert unknown.returncode == 2 and "wake word 'marvin' is not a class" in unknown.stderr


def test_evaluate_on_the_stream_split_prints_the_rates_and_draws_the_curve(wake_run: Path, tmp_path: Path):
    metrics, figures = evaluate_with_report(wake_run, split="stream", overrides=["data.args.stream_minutes=2"],
                                            report=tmp_path / "report")
    assert set(metrics) == {"stream/detection_rate", "stream/false_alarms_per_hour",
                            "stream/detection_at_1_fa_per_hour", "stream/loss"}
    assert 0 <= metrics["stream/detection_at_1_fa_per_hour"] <= 1 and metrics["stream/false_alarms_per_hour"] >= 0
    assert [f.name for f in figures] == ["wake_word_curve.png", "wake_word_curve.tsv"]
    rows = figures[1].read_text().splitlines()
    assert rows[0] == "threshold\tdetection_rate\tfalse_alarms_per_hour" and len(rows) == len(stream.THRESHOLDS) + 1
