"""torchrun with 2 CPU processes (gloo) trains exactly what one process does with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import REPO, TINY_VISION
from tests.test_trainer import TINY_VIT
from zoo import api


def torchrun(output, *overrides, processes=2):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "zoo.train", "--task", "vision", "--output", str(output), *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    common = [*TINY_VISION, *TINY_VIT, "trainer.epochs=2", "trainer.checkpoint_every=3"]
    single = api.train("vision", output=tmp_path / "single", overrides=[*common, "data.batch_size=32"]).run_dir
    result = torchrun(tmp_path / "ddp", *common, "data.batch_size=16")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "terminate called" not in result.stderr

    expected = load_file(str(single / "checkpoints" / "last" / "model.safetensors"))
    actual = load_file(str(tmp_path / "ddp" / "checkpoints" / "last" / "model.safetensors"))
    assert all(torch.allclose(expected[k], actual[k], atol=1e-5) for k in expected)

    def records(run):
        return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]

    one, two = records(single), records(tmp_path / "ddp")
    assert [r["step"] for r in one] == [r["step"] for r in two]  # rank 0 alone writes the log
    for a, b in zip(one, two):
        for key in ("train/loss", "val/loss", "val/top1"):
            if key in a:
                assert a[key] == pytest.approx(b[key], abs=1e-4), (a, b)
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["samples_seen"] == json.loads((single / "summary.json").read_text())["samples_seen"]


@pytest.mark.slow
def test_resume_under_ddp(tmp_path):
    common = [*TINY_VISION, *TINY_VIT, "data.batch_size=16", "trainer.checkpoint_every=3"]
    assert torchrun(tmp_path / "run", *common, "trainer.max_steps=5").returncode == 0
    result = torchrun(tmp_path / "run", *common, "trainer.max_steps=10", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 10


def test_a_failing_rank_ends_the_run_with_its_error(tmp_path):
    result = torchrun(tmp_path / "run", *TINY_VISION, "optim.lr=1e12", "optim.name=sgd", "trainer.log_every=1",
                      "scheduler.name=constant")
    assert result.returncode != 0
    assert "error (rank 0)" in result.stderr and "Lower optim.lr" in result.stderr


@pytest.mark.slow
def test_fsdp_shards_trains_and_resumes_what_one_process_does(tmp_path):
    common = [*TINY_VISION, *TINY_VIT, "scheduler.name=constant", "scheduler.warmup_fraction=0"]
    single = api.train("vision", output=tmp_path / "single",
                       overrides=[*common, "data.batch_size=32", "trainer.max_steps=8"]).run_dir
    sharded = [*common, "data.batch_size=16", "trainer.strategy=fsdp", "trainer.channels_last=false"]
    first = torchrun(tmp_path / "fsdp", *sharded, "trainer.max_steps=4")
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = torchrun(tmp_path / "fsdp", *sharded, "trainer.max_steps=8", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    expected = load_file(str(single / "checkpoints" / "last" / "model.safetensors"))
    actual = load_file(str(tmp_path / "fsdp" / "checkpoints" / "last" / "model.safetensors"))
    assert expected.keys() == actual.keys()  # full, unsharded weights: loadable by one process
    assert all(torch.allclose(expected[k], actual[k], atol=1e-5) for k in expected)
    metrics = api.evaluate(tmp_path / "fsdp", device="cpu")
    assert metrics["val/top1"] == pytest.approx(
        json.loads((tmp_path / "fsdp" / "summary.json").read_text())["final"]["val/top1"], abs=1e-6)


def _rank_pid(marker: str, rank: int) -> int | None:
    """The process of ``rank`` among those started with ZOO_TEST_MARK=marker, read from /proc."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = open(f"/proc/{entry}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if f"ZOO_TEST_MARK={marker}".encode() in environ and f"RANK={rank}".encode() in environ \
                and b"LOCAL_RANK=" + str(rank).encode() in environ:
            return int(entry)
    return None


@pytest.mark.slow
def test_a_stopped_rank_ends_the_run_within_the_collective_timeout_naming_the_rank(tmp_path):
    import signal
    import time

    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "zoo.train", "--task", "vision", "--output", str(run), *TINY_VISION, "trainer.epochs=500",
               "trainer.log_every=1", "trainer.collective_timeout_s=5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "ZOO_TEST_MARK": str(tmp_path)}
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = run / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not (log.is_file() and log.read_text().count("\n") >= 2):
        time.sleep(0.05)
    pid = _rank_pid(str(tmp_path), 1)
    assert pid is not None and process.poll() is None
    os.kill(pid, signal.SIGSTOP)  # a hung rank: alive, holding its sockets, answering nothing
    stopped = time.time()
    try:
        _, err = process.communicate(timeout=240)
    finally:
        os.kill(pid, signal.SIGKILL) if os.path.exists(f"/proc/{pid}") else None
    assert process.returncode != 0 and time.time() - stopped < 120
    line = next(line for line in err.splitlines() if line.startswith("error (rank 0)"))
    assert "rank 0 of 2 waited more than trainer.collective_timeout_s=5 s" in line, err[-3000:]
