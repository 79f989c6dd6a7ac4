"""The shared trainer's promises, checked on a tiny vision run (seconds each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import REPO, TINY_VISION
from zoo import api, checkpoint
from zoo.errors import ConfigError, NonFiniteLossError

# A layer-norm ViT without dropout: no batch statistics, so accumulation must match a bigger batch exactly.
TINY_VIT = [
    "model.name=vit", "model.args={num_layers: 1, hidden_dim: 16, mlp_dim: 32, num_heads: 2, patch_size: 8}",
    "optim.name=sgd", "optim.lr=0.05", "optim.momentum=0.0", "optim.weight_decay=0.0", "scheduler.name=constant",
]


def train(tmp_path, *overrides, name="run", **kwargs):
    return api.train("vision", output=tmp_path / name, overrides=[*TINY_VISION, *overrides], **kwargs)


def weights(run_dir, tag="last", file=checkpoint.MODEL_FILE):
    return load_file(str(run_dir / "checkpoints" / tag / file))


def test_run_directory_holds_config_logs_summary_and_checkpoints(tmp_path):
    result = train(tmp_path)
    run = result.run_dir
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("train/loss" in r and "lr" in r and "samples_per_s" in r for r in records)
    assert sum("val/top1" in r for r in records) == 2  # one evaluation per epoch
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 16 and summary["params"] > 0 and summary["samples_per_s"] > 0
    assert summary["best"]["val/top1"] == max(r["val/top1"] for r in records if "val/top1" in r)
    assert (run / "config.yaml").is_file()
    meta = checkpoint.read_meta(run / "checkpoints" / "best")
    assert meta["info"]["classes"][0] and meta["config"]["trainer"]["epochs"] == 2 and meta["zoo_version"]
    state = torch.load(run / "checkpoints" / "last" / checkpoint.STATE_FILE, weights_only=True)
    assert {"optimizer", "scheduler", "scaler", "rng", "progress"} <= set(state)
    assert result.model is not None and result.metrics == summary["final"]


def test_accumulation_matches_a_larger_batch(tmp_path):
    a = train(tmp_path, *TINY_VIT, "data.batch_size=64", "trainer.accumulate=1", name="a").run_dir
    b = train(tmp_path, *TINY_VIT, "data.batch_size=32", "trainer.accumulate=2", name="b").run_dir
    wa, wb = weights(a), weights(b)
    assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)
    assert json.loads((a / "summary.json").read_text())["steps"] == 8


def test_gradient_clipping_bounds_each_update(tmp_path):
    start = train(tmp_path, *TINY_VIT, "trainer.max_steps=1", "optim.lr=0.0", name="start").run_dir
    clipped = train(tmp_path, *TINY_VIT, "trainer.max_steps=1", "optim.lr=1.0", "trainer.clip_grad_norm=0.001",
                    name="clipped").run_dir
    w0, w1 = weights(start), weights(clipped)
    delta = torch.sqrt(sum(((w1[k] - w0[k]).double() ** 2).sum() for k in w0))
    assert 0 < delta <= 0.001 + 1e-6


def test_ema_weights_are_saved_and_used_for_inference(tmp_path):
    run = train(tmp_path, "trainer.ema.decay=0.9").run_dir
    meta = checkpoint.read_meta(run / "checkpoints" / "last")
    assert meta["inference_weights"] == "ema"
    raw, ema = weights(run), weights(run, file=checkpoint.EMA_FILE)
    assert raw.keys() == ema.keys() and any(not torch.equal(raw[k], ema[k]) for k in raw)
    metrics = api.evaluate(run / "checkpoints" / "last")
    assert metrics["val/top1"] == pytest.approx(meta["metrics"]["val/top1"])


def test_early_stopping(tmp_path):
    # an improvement must exceed min_delta: none of 1.0 in top-1 can, so the run stops after patience evaluations
    result = train(tmp_path, "trainer.epochs=5", "trainer.early_stopping.patience=2",
                   "trainer.early_stopping.min_delta=1.0")
    assert result.summary["status"] == "stopped_early" and result.summary["epochs"] == 3


@pytest.mark.parametrize("schedule", ["cosine", "linear", "step", "onecycle", "constant"])
def test_schedules_warm_up_and_run_to_the_end(tmp_path, schedule):
    result = train(tmp_path, f"scheduler.name={schedule}", "scheduler.warmup_steps=4", "trainer.log_every=1",
                   "trainer.epochs=1")
    lrs = [json.loads(line)["lr"] for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()
           if "lr" in line]
    assert len(lrs) == 8 and lrs[0] < lrs[3]


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path):
    with pytest.raises(NonFiniteLossError, match="lower optim.lr|Lower optim.lr") as error:
        train(tmp_path, "optim.name=sgd", "optim.lr=1e12", "optim.momentum=0", "trainer.log_every=1",
              "trainer.checkpoint_every=1", "scheduler.name=constant", "trainer.epochs=3")
    assert "step" in str(error.value)
    last = tmp_path / "run" / "checkpoints" / "last"
    if last.exists():  # every checkpoint written holds finite weights
        assert all(torch.isfinite(t).all() for t in load_file(str(last / checkpoint.MODEL_FILE)).values())


def test_fp16_on_cpu_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="bf16"):
        train(tmp_path, "trainer.precision=fp16", "trainer.device=cpu")


def test_bf16_autocast_trains_on_cpu(tmp_path):
    result = train(tmp_path, "trainer.precision=bf16", "trainer.epochs=1")
    assert result.summary["steps"] == 8 and 0 <= result.summary["final"]["val/top1"] <= 1


def test_existing_run_is_not_overwritten(tmp_path):
    train(tmp_path, "trainer.epochs=1")
    with pytest.raises(ConfigError, match="--resume"):
        train(tmp_path, "trainer.epochs=1")


def test_interrupted_checkpoint_write_leaves_the_previous_one(tmp_path, monkeypatch):
    run = train(tmp_path, "trainer.epochs=1").run_dir
    before = os.readlink(run / "checkpoints" / "last")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "atomic_write_json", crash)
    with pytest.raises(OSError):
        train(tmp_path, "trainer.epochs=2", resume=True)
    assert os.readlink(run / "checkpoints" / "last") == before
    assert checkpoint.read_meta(run / "checkpoints" / "last")["step"] == 8


def test_resume_after_sigkill_mid_epoch_matches_an_uninterrupted_run(tmp_path):
    overrides = [*TINY_VISION, "trainer.epochs=4", "trainer.checkpoint_every=5", "model.args.dropout=0.3",
                 "trainer.ema.decay=0.9"]
    reference = api.train("vision", output=tmp_path / "reference", overrides=overrides).run_dir

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "zoo.train", "--task", "vision", "--output", str(killed), *overrides]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "checkpoints" / "last"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if last.exists() and (step := checkpoint.read_meta(last)["step"]) >= 9 and step % 8:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    step = checkpoint.read_meta(last)["step"]
    assert 0 < step < 32 and step % 8 != 0, "the kill must land mid-epoch with the run unfinished"

    api.train("vision", output=killed, overrides=overrides, resume=True)
    for file in (checkpoint.MODEL_FILE, checkpoint.EMA_FILE):
        expected, actual = weights(reference, file=file), weights(killed, file=file)
        assert expected.keys() == actual.keys()
        assert all(torch.equal(expected[k], actual[k]) for k in expected), file
    def evaluations(run):
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [(r["step"], r["val/top1"], r["val/loss"]) for r in records if "val/loss" in r]

    assert evaluations(killed) == evaluations(reference)  # records of the steps trained again are not doubled
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["steps"] == 32 and summary["final"] == json.loads((reference / "summary.json").read_text())["final"]


def test_sigterm_finishes_the_step_checkpoints_and_a_second_process_is_refused(tmp_path, capfd):
    run = tmp_path / "run"
    overrides = [*TINY_VISION, "trainer.epochs=500", "trainer.log_every=1"]
    command = [sys.executable, "-m", "zoo.train", "--task", "vision", "--output", str(run), *overrides]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = run / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and first.poll() is None and not (log.is_file() and log.read_text().count("\n") >= 3):
        time.sleep(0.05)
    assert first.poll() is None, first.communicate()
    second = subprocess.run([sys.executable, "-m", "zoo.train", "--output", str(run), "--resume"], cwd=REPO,
                            capture_output=True, text=True, timeout=300, env=env)
    assert second.returncode == 2 and f"in use by process {first.pid}" in second.stderr, second.stderr
    assert second.stderr.count("\n") == 1  # one line, no traceback
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 143, err
    step = checkpoint.read_meta(run / "checkpoints" / "last")["step"]
    assert f"SIGTERM: stopped after step {step} of 4000" in err and f"--output {run} --resume" in err
    assert "Traceback" not in err and not list((run / "checkpoints").glob(".*.tmp"))

    capfd.readouterr()
    api.train(output=run, resume=True, overrides=[f"trainer.max_steps={step + 1}"])  # the lock went with the process
    first_line = capfd.readouterr().err.splitlines()[0]
    assert first_line.startswith(f"resuming from step {step} of {step + 1}")


def test_epoch_labels_are_consecutive_and_a_resume_with_nothing_to_resume_says_so(tmp_path, capfd):
    train(tmp_path, "trainer.eval_every=5", resume=True)  # 8 steps per epoch, 16 in all
    err = capfd.readouterr().err
    assert err.splitlines()[0] == f"nothing to resume in {tmp_path / 'run'} (no complete checkpoint): starting fresh"
    labels = [line.split(":")[0] for line in err.splitlines() if line.startswith("epoch ")]
    assert labels == ["epoch 1/2 step 5", "epoch 2/2 step 10", "epoch 2/2 step 15", "epoch 2/2 step 16"]


def test_a_resume_survives_a_torn_log_line_and_a_dangling_last(tmp_path, capfd):
    run = train(tmp_path, "trainer.epochs=1", "trainer.checkpoint_every=3", "trainer.keep_checkpoints=5").run_dir
    import shutil

    shutil.rmtree(run / "checkpoints" / "step-0000008")  # a crash left last pointing at nothing
    (run / "checkpoints" / "best").unlink(missing_ok=True)
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 9, "train/lo')  # killed while writing
    capfd.readouterr()
    result = train(tmp_path, "trainer.epochs=2", "trainer.checkpoint_every=3", "trainer.keep_checkpoints=5",
                   resume=True)
    err = capfd.readouterr().err
    resumed = next(line for line in err.splitlines() if line.startswith("resuming"))
    assert resumed.startswith("resuming from step 6 of 16") and "dangling" in resumed and "step-0000006" in resumed
    assert "torn last line" in err
    assert result.summary["steps"] == 16
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 16


def test_a_resume_refuses_another_run_and_records_what_it_changes(tmp_path, capfd):
    run = train(tmp_path, "trainer.epochs=1").run_dir
    original = (run / "config.yaml").read_text()
    refusals = [
        (dict(task="nlp"), "run of task 'vision'; --resume cannot switch it to --task nlp"),
        (dict(task="vision", model="vit"), "cannot switch it to --model vit"),
        (dict(task="vision", dataset="mnist"), "cannot switch it to --dataset mnist"),
        (dict(overrides=["model.name=vit"]), "cannot switch it to model.name=vit"),
        (dict(config=str(tmp_path / "other.yaml")), "drop --config"),
    ]
    for given, message in refusals:
        overrides = [*TINY_VISION, *given.pop("overrides", [])]
        with pytest.raises(ConfigError, match=message):
            api.train(given.pop("task", None), output=run, resume=True, overrides=overrides, **given)
    capfd.readouterr()
    result = train(tmp_path, "trainer.epochs=2", resume=True)
    err = capfd.readouterr().err
    assert result.summary["steps"] == 16
    assert "changed on resume at step 8: trainer.epochs 1 -> 2" in err
    assert (run / "config.yaml").read_text() == original  # the run's start is kept
    records = [json.loads(line) for line in (run / "changes.jsonl").read_text().splitlines()]
    assert [(r["step"], r["changes"]) for r in records] == [(8, {"trainer.epochs": [1, 2]})]
    assert train(tmp_path, resume=True).summary["steps"] == 16  # the recorded change holds; nothing new to record
    assert "changed on resume" not in capfd.readouterr().err
    assert len((run / "changes.jsonl").read_text().splitlines()) == 1
    from zoo.compare import load_run

    assert load_run(run)["config"]["trainer.epochs"] == 2
