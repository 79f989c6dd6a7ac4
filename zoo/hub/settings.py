"""The store's switches, read from the environment each time: ``ZOO_OFFLINE`` and ``ZOO_MIRROR``."""

from __future__ import annotations

import os


def offline() -> bool:
    """``ZOO_OFFLINE=1``: never reach the network; only the cache and local sources are read."""
    return os.environ.get("ZOO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def mirror() -> str | None:
    """``ZOO_MIRROR``: a directory (or URL) holding ``<task>/<model>.<tag>/<file>``, tried before upstream."""
    return os.environ.get("ZOO_MIRROR") or None
