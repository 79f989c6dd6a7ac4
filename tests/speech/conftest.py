"""A keyword model trained once for the stream and assistant tests (the default recipe, shrunk to seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import recipe_timeout, run_zoo

WAKE_SHRINK = ["data.args.num_train=1200", "data.args.num_val=120", "trainer.epochs=3", "trainer.progress=false",
               "trainer.tensorboard=false", "trainer.log_every=10"]


@pytest.fixture(scope="session")
def wake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("wake") / "run"
    run_zoo("train", "--task", "speech", "--output", str(run), *WAKE_SHRINK,
            timeout=recipe_timeout("speech/temporal_cnn_keywords"))
    return run
