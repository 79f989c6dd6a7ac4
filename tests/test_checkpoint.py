"""Checkpoint files and the run directory under faults: full disks, dangling links, torn logs, two processes, skew.

Each test writes small checkpoints of a tiny module directly (no training), so the whole file runs in seconds.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.conftest import REPO
from zoo import checkpoint, logs
from zoo.errors import CheckpointError, ConfigError, ZooError
from zoo.io import DirectoryLock
from zoo.trainer import Progress

PROGRESS = {f for f in Progress.__dataclass_fields__}


def save(directory: Path, step: int, **kwargs) -> Path:
    torch.manual_seed(step)
    state = {"optimizer": {}, "scheduler": {}, "scaler": {}, "rng": [], "progress": {"step": step}}
    meta = {"zoo_version": "0.1.0", "task": "vision", "model": "m", "dataset": "d", "step": step, "info": {},
            "config": {}, "metrics": {}}
    return checkpoint.save(directory, step, nn.Linear(4, 2), None, state, meta, **kwargs)


def test_checkpoint_files_keep_the_umask_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        final = save(tmp_path / "checkpoints", 1)
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in final.iterdir()}
    assert modes == {name: 0o644 for name in modes} and checkpoint.MODEL_FILE in modes, modes


@pytest.mark.parametrize("target", ["save_model", "trainer_state", "meta"])
def test_a_full_disk_is_one_line_leaves_nothing_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch, target):
    directory = tmp_path / "checkpoints"
    save(directory, 1)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if target == "save_model":
        monkeypatch.setattr(checkpoint, "save_model", full)
    elif target == "meta":
        monkeypatch.setattr(checkpoint, "atomic_write_json", full)
    else:  # torch.save reports a failed write as "unexpected pos N vs M"; the OSError behind it must show
        class Full:
            def __init__(self, *args):
                self.written = 0

            def write(self, data):
                self.written += len(data)
                if self.written > 100:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return len(data)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        monkeypatch.setattr(checkpoint, "open", Full, raising=False)
    with pytest.raises(CheckpointError) as error:
        save(directory, 2)
    message = str(error.value)
    assert "\n" not in message and "disk is full" in message and "free" in message and "--resume" in message
    assert "step 1) is kept" in message
    assert sorted(p.name for p in directory.iterdir()) == ["last", "step-0000001"]
    assert checkpoint.read_meta(directory / "last")["step"] == 1


def test_other_write_errors_still_clean_up_and_propagate(tmp_path, monkeypatch):
    directory = tmp_path / "checkpoints"
    save(directory, 1)
    monkeypatch.setattr(checkpoint, "save_model", lambda *a, **k: (_ for _ in ()).throw(PermissionError("denied")))
    with pytest.raises(PermissionError):
        save(directory, 2)
    assert sorted(p.name for p in directory.iterdir()) == ["last", "step-0000001"]


def test_prune_keeps_the_temporary_directory_of_a_live_process(tmp_path):
    directory = tmp_path / "checkpoints"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = directory / f".step-0000005.{sleeper.pid}.tmp"
        dead = directory / ".step-0000004.999999999.tmp"
        for folder in (live, dead):
            folder.mkdir(parents=True)
        save(directory, 1)
        assert live.is_dir() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_dangling_last_resumes_from_the_newest_complete_step(tmp_path):
    directory = tmp_path / "checkpoints"
    for step in (3, 6):
        save(directory, step, keep=5)
    (directory / "step-0000009").mkdir()  # a directory without its files is not a checkpoint
    (directory / "last").unlink()
    (directory / "last").symlink_to("step-0000012")
    path, note = checkpoint.resumable(directory)
    assert path.name == "step-0000006" and "dangling" in note and "step-0000006" in note
    (directory / "last").unlink()
    assert "missing" in checkpoint.resumable(directory)[1]
    assert checkpoint.resumable(tmp_path / "never-ran") == (None, "")


def test_a_torn_last_line_of_the_log_is_dropped(tmp_path, capsys):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 2, "train/loss": 1.0}\n{"step": 4, "train/loss": 0.9}\n{"step": 6, "tra')
    logs._drop_records_after(log, 4)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [2, 4]
    assert "torn last line" in capsys.readouterr().err
    log.write_text('{"step": 2}\n{"step": 4}')  # complete but unterminated: kept, and the newline added
    logs._drop_records_after(log, 4)
    assert log.read_text() == '{"step": 2}\n{"step": 4}\n'
    log.write_text('{"step": 2}\ngarbage\n{"step": 4}\n')
    with pytest.raises(ZooError, match="line 2 is not a JSON record"):
        logs._drop_records_after(log, 4)


def test_a_second_process_on_a_run_directory_is_refused_naming_the_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from zoo.io import DirectoryLock; lock = DirectoryLock(sys.argv[1]); lock.acquire();"
         " print('locked', flush=True); time.sleep(60)", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=f"in use by process {holder.pid}") as error:
            DirectoryLock(tmp_path).acquire()
        assert "\n" not in str(error.value)
    finally:
        holder.send_signal(signal.SIGKILL)  # the kernel releases a killed holder's lock
        holder.wait()
    lock = DirectoryLock(tmp_path)
    lock.acquire()
    assert (tmp_path / DirectoryLock.NAME).read_text().strip() == str(os.getpid())
    lock.release()


def test_a_weights_file_that_is_not_safetensors_is_one_line(tmp_path):
    final = save(tmp_path / "checkpoints", 1)
    (final / checkpoint.MODEL_FILE).write_bytes(b"PK\x03\x04 not safetensors" * 8)
    for call in (lambda: checkpoint.read_weights(final), lambda: checkpoint.load_weights(final, nn.Linear(4, 2))):
        with pytest.raises(CheckpointError, match="is not a readable safetensors file") as error:
            call()
        assert "\n" not in str(error.value)


def test_version_skew_names_the_writer_and_what_cannot_be_read(tmp_path):
    final = save(tmp_path / "checkpoints", 1)
    meta = checkpoint.read_meta(final)
    newer = {**meta, "zoo_version": "9.0.0"}
    state = checkpoint.load_trainer_state(final)
    state["progress"] = {**{f: 0 for f in PROGRESS}, "tokens_seen": 5}
    with pytest.raises(CheckpointError, match=r"tokens_seen.*written by zoo 9\.0\.0 \(this is zoo "):
        checkpoint.check_trainer_state(state, newer, final, PROGRESS)
    del state["scaler"]
    state["progress"] = {"step": 1}
    with pytest.raises(CheckpointError, match="lacks scaler; lacks the counters"):
        checkpoint.check_trainer_state(state, newer, final, PROGRESS)
    del newer["info"]
    (final / checkpoint.META_FILE).write_text(json.dumps(newer))
    with pytest.raises(CheckpointError, match=r"lacks info: it was written by zoo 9\.0\.0"):
        checkpoint.read_meta(final)
    (final / checkpoint.META_FILE).write_text('{"task": ')
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.read_meta(final)

