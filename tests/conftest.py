"""Shared test helpers: a tiny, fast vision recipe and a way to run the CLI as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

import pytest

# Libraries that cache what they read (datasets turns CSV files into Arrow) write into a throwaway folder, not the
# user's ~/.cache; set before any test imports them.
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="zoo-tests-hf-datasets-"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# The default recipe shrunk to seconds: 256 shapes, a width-8 CNN.
TINY_VISION = [
    "data.args.num_train=256",
    "data.args.num_val=128",
    "model.args.width=8",
    "data.batch_size=32",
    "data.eval_batch_size=64",
    "trainer.epochs=2",
    "trainer.progress=false",
    "trainer.log_every=2",
    "trainer.tensorboard=false",
]


def run_zoo(*args: str, timeout: float = 300, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m zoo ARGS`` in a subprocess, as a user's shell would."""
    env = {**kwargs.pop("env", os.environ), "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "zoo", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"zoo {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def recipe_timeout(name: str, default_s: float = 300) -> float:
    """Ten times the two-core budget of recipe ``name`` (its ``target.budget_s``; ``default_s`` when it has none): a
    test that trains the recipe, or a shrunk copy of it, keeps an order of magnitude of room on a loaded machine.
    Speed is for the benchmarks to judge, not for a test's time limit."""
    from zoo import recipes

    target = recipes.recipe_targets().get(name)
    return 10 * (target.budget_s if target is not None and target.budget_s else default_s)


@pytest.fixture
def zoo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own cache, seeing only the catalogs the test sets (no user catalog, mirror or offline switch)."""
    from zoo.hub import catalog

    home = tmp_path / "zoo_home"
    monkeypatch.setenv("ZOO_HOME", str(home))
    for name in ("ZOO_CATALOG", "ZOO_OFFLINE", "ZOO_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(catalog, "_extra", [])
    monkeypatch.setattr(catalog, "_fetched", {})
    return home


@pytest.fixture
def tiny_vision() -> list[str]:
    return list(TINY_VISION)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished tiny vision run (trained in-process once per session) for tests that read runs."""
    import zoo

    run = tmp_path_factory.mktemp("tiny") / "run"
    overrides = dict(item.split("=", 1) for item in TINY_VISION)
    zoo.train(task="vision", output=run, overrides=overrides)
    return run


# Recipes whose budget is at most this many seconds train in the suite; longer ones run in scripts/bench_tasks.py
# (or here with ZOO_LONG_RECIPES=1).
SUITE_BUDGET_S = 180


def trained_once(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str, timeout: float) -> Path:
    """``zoo train ARGS --output RUN``, trained once per session: the pytest-xdist workers of one session share the
    run, the first to ask trains it under a file lock while the others wait (one left without its summary by a crash
    is trained again)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    run = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-runs" / name
    run.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(run) + ".lock"):
        if not (run / "summary.json").is_file():
            shutil.rmtree(run, ignore_errors=True)
            run_zoo("train", *args, "--output", str(run), timeout=timeout)
    return run


@pytest.fixture(scope="session")
def recipe_run(tmp_path_factory):
    """``recipe_run("vision/small_cnn_shapes")``: that recipe trained once per session by the command on its first
    line, as a user runs it; returns the run directory. The time limit is ten times the recipe's budget."""
    from zoo import recipes

    def train(name: str) -> Path:
        return trained_once(tmp_path_factory, name.replace("/", "-"), *recipes.recipe_command(name),
                            "trainer.progress=false", timeout=recipe_timeout(name))

    return train
