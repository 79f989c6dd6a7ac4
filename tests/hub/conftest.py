"""Fixtures of the checkpoint tests: an isolated cache, one tiny trained run per session, a published site."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY_VISION
from tests.hub.server import LoopbackServer

NAME = "vision/small_cnn.tiny"


@pytest.fixture(autouse=True)
def zoo_home(zoo_home: Path) -> Path:
    """Every hub test gets its own cache (the shared fixture, used automatically here)."""
    return zoo_home


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """The tiny vision recipe with EMA, trained once (seconds)."""
    import zoo.api

    run = tmp_path_factory.mktemp("hub") / "run"
    zoo.api.train("vision", output=run, overrides=[*TINY_VISION, "trainer.ema.decay=0.9"])
    return run


@pytest.fixture(scope="session")
def site(trained_run, tmp_path_factory) -> Path:
    """A published folder holding vision/small_cnn.tiny, as a team would serve it."""
    from zoo.publish import publish

    out = tmp_path_factory.mktemp("site")
    publish(trained_run, NAME, out)
    return out


@pytest.fixture
def server(site):
    served = LoopbackServer(site)
    yield served
    served.close()


@pytest.fixture
def served_catalog(server, monkeypatch) -> str:
    """ZOO_CATALOG pointing at the site's catalog over HTTP, so sources resolve to the loopback server."""
    url = server.url("catalog.json")
    monkeypatch.setenv("ZOO_CATALOG", url)
    return url
