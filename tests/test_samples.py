"""Sample input files: which items are picked, how files are named, and images that read back as they were."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import run_zoo
from zoo.errors import ConfigError
from zoo.samples import file_name, pick, write_image


def test_picks_go_round_the_labels_before_repeating_one():
    labels = [0] * 30 + [1] * 3 + [2] * 30
    chosen = pick(len(labels), 6, labels.__getitem__)
    assert sorted(labels[i] for i in chosen) == [0, 0, 1, 1, 2, 2]
    assert chosen == sorted(chosen) and len(set(chosen)) == 6


def test_without_labels_picks_spread_over_the_split():
    assert pick(100, 3) == [0, 50, 99]
    assert pick(2, 5) == [0, 1]
    with pytest.raises(ConfigError, match="at least 1"):
        pick(10, 0)


def test_file_names_keep_the_label_readable_and_safe():
    assert file_name(7, "traffic light/red", ".png") == "00007_traffic-light-red.png"
    assert file_name(12, None, ".flac") == "00012.flac"


def test_images_read_back_as_written(tmp_path):
    rgb = torch.randint(0, 256, (3, 9, 11), dtype=torch.uint8)
    assert np.array_equal(np.array(Image.open(write_image(rgb, tmp_path / "a.png"))), rgb.permute(1, 2, 0).numpy())
    grey = torch.randint(0, 256, (1, 5, 4), dtype=torch.uint8)
    assert np.array_equal(np.array(Image.open(write_image(grey, tmp_path / "b.png"))), grey[0].numpy())
    unit = torch.tensor([[0.0, 0.5], [1.0, 0.25]])  # intensities in [0, 1] keep their scale
    assert np.array(Image.open(write_image(unit, tmp_path / "c.png"))).tolist() == [[0, 128], [255, 64]]


def test_the_command_writes_inputs_and_references(tmp_path):
    result = run_zoo("samples", "--task", "vision", "--output", str(tmp_path), "--count", "4",
                     "data.args.num_val=64")
    paths = result.stdout.split()
    assert len(paths) == 4 and all(p.endswith(".png") for p in paths)
    references = json.loads((tmp_path / "references.json").read_text())
    assert sorted(references) == sorted(p.split("/")[-1] for p in paths)
    assert all(name.split("_", 1)[1] == f"{label}.png" for name, label in references.items())


def test_a_task_without_input_files_says_so_in_one_line(tmp_path):
    result = run_zoo("samples", "--task", "recommendation", "--output", str(tmp_path), check=False)
    assert result.returncode != 0 and "writes no sample input files" in result.stderr
    assert "Traceback" not in result.stderr
