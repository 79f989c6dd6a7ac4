"""Where the zoo keeps downloaded datasets and its own cache; importing this must stay free of torch."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg_cache_home() -> Path:
    """The user's cache directory, per the XDG base-directory convention."""
    value = os.environ.get("XDG_CACHE_HOME")
    return Path(value).expanduser() if value else Path.home() / ".cache"


def cache_dir() -> Path:
    """The zoo's cache: ``$ZOO_HOME`` if set, else ``$XDG_CACHE_HOME/zoo`` (``~/.cache/zoo``)."""
    value = os.environ.get("ZOO_HOME")
    return Path(value).expanduser() if value else _xdg_cache_home() / "zoo"


def data_dir() -> Path:
    """Dataset files: ``$ZOO_DATA`` if set, else ``$XDG_CACHE_HOME/zoo/data`` (``~/.cache/zoo/data``)."""
    value = os.environ.get("ZOO_DATA")
    return Path(value).expanduser() if value else _xdg_cache_home() / "zoo" / "data"


def download_hint(download: bool) -> str:
    """The end of a "dataset not found" message: how to download it, or, when ``data.args.download=true`` was set
    and the files are still missing, that downloading again will not help."""
    if download:
        return "; data.args.download=true is set, but the download did not leave these files there: check the folder"
    return ", or set data.args.download=true to download it"
