"""Runs side by side, as ``zoo compare`` prints them."""

import json
import shutil

import yaml

from tests.conftest import run_zoo
from zoo.compare import compare


def test_compare_shows_differing_config_and_marks_the_better_metric(tiny_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_run, other, symlinks=True)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["optim"]["lr"] = 0.5
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    summary = json.loads((other / "summary.json").read_text())
    summary["best"]["val/top1"] = 1.0
    (other / "summary.json").write_text(json.dumps(summary))

    table = run_zoo("compare", str(tiny_run), str(other)).stdout
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:] if line.strip() and line[0] != "("}
    assert rows["optim.lr"][1] == "0.5"
    assert rows["val/top1"] == [f"{json.loads((tiny_run / 'summary.json').read_text())['best']['val/top1']:.4f}",
                                "1.0000", "*"]
    assert "trainer.epochs" not in rows  # equal in both runs
    assert "trainer.epochs" in compare([tiny_run, other], all_keys=True)


def test_an_unfinished_run_is_read_from_its_log(tiny_run, tmp_path):
    run = tmp_path / "unfinished"
    run.mkdir()
    shutil.copy(tiny_run / "config.yaml", run)
    (run / "metrics.jsonl").write_text(json.dumps({"step": 5, "val/top1": 0.25}) + "\n")
    table = compare([run])
    assert "unfinished" in table and "0.2500" in table


def test_compare_of_a_directory_that_is_not_a_run_fails_clearly(tmp_path):
    result = run_zoo("compare", str(tmp_path), check=False)
    assert result.returncode == 2 and "not a run directory" in result.stderr
