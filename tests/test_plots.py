"""Figures a person looks at: a run's curves, and the task's evaluation figures."""

import json
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_zoo
from zoo.errors import ConfigError, MissingExtraError
from zoo.plots import class_confusion, plot_run

pytest.importorskip("matplotlib")


def _is_png(path, min_size=(200, 150)):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1]
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 5  # something is drawn, not a blank canvas


def test_plot_writes_loss_metric_and_lr_curves(tiny_run, tmp_path):
    written = plot_run(tiny_run, tmp_path / "plots")
    assert [p.name for p in written] == ["loss.png", "metrics.png", "lr.png", "throughput.png"]
    for path in written:
        _is_png(path)


def test_plot_command_defaults_to_the_run_directory(tiny_run):
    out = run_zoo("plot", str(tiny_run)).stdout.split()
    assert out[0] == str(tiny_run / "plots" / "loss.png")


def test_plot_of_a_directory_that_is_not_a_run_names_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="no metrics.jsonl"):
        plot_run(tmp_path)


def test_missing_matplotlib_gives_the_pip_command(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pip install .*\[plot\]"):
        plot_run(tiny_run, tmp_path)


def test_confusion_counts_pairs_of_true_and_predicted_classes():
    matrix = class_confusion(predicted=[0, 1, 1, 2, 2, 2], target=[0, 1, 2, 2, 2, 0], num_classes=3)
    assert matrix.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]


def test_evaluate_writes_a_confusion_matrix_and_sample_predictions(tiny_run):
    result = run_zoo("evaluate", "--checkpoint", str(tiny_run))
    figures = [line.removeprefix("figure: ") for line in result.stdout.splitlines() if line.startswith("figure: ")]
    assert [f.rsplit("/", 1)[1] for f in figures] == ["confusion_matrix.png", "samples.png"]
    step = json.loads((tiny_run / "summary.json").read_text())["best"]["step"]
    assert f"/reports/step-{step:07d}-shapes-val/" in figures[0]
    for figure in figures:
        _is_png(figure)
    quiet = run_zoo("evaluate", "--checkpoint", str(tiny_run), "--no-report").stdout
    assert "figure:" not in quiet
