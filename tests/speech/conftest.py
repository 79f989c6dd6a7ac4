"""A keyword model trained once for the stream and assistant tests (the default recipe, shrunk to seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import recipe_timeout, trained_once

# Trained for seconds, the model learns the commands before the unknown words: so it hears them as often as the
# other classes here, not the recipe's 40% with near misses 100 times as often.
WAKE_SHRINK = ["data.args.num_train=1600", "data.args.num_val=120", "trainer.epochs=5",
               "data.args.unknown_share=0.0833", "data.args.near_misses=1", "trainer.progress=false",
               "trainer.tensorboard=false", "trainer.log_every=10"]


@pytest.fixture(scope="session")
def wake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_once(tmp_path_factory, "speech-wake", "--task", "speech", *WAKE_SHRINK,
                        timeout=recipe_timeout("speech/temporal_cnn_keywords"))
