"""Writes that never leave a half-written file behind (write beside, flush to disk, then rename), and the lock that
keeps one process at a time in a run directory."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path`` and rename it into place once it is on disk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode a plain open() would
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def fsync(path: Path) -> None:
    """Flush a file or directory to disk so that a crash after the rename cannot leave it empty."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically (a new link renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def disk_full(error: BaseException) -> bool:
    """A write failed because the disk (or the quota) is full, whatever library reported it."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error)
    return "No space left on device" in text or "StorageFull" in text or "Disk quota exceeded" in text


def free_space(directory: Path) -> str:
    from zoo.table import human

    try:
        return human(shutil.disk_usage(directory).free) + "B free"
    except OSError:
        return "free space unknown"


class DirectoryLock:
    """An exclusive ``flock`` on ``<directory>/.lock``, held until :meth:`release` or the process ends.

    The kernel drops the lock when its holder exits, however it dies (SIGKILL included), so a stale lock file never
    blocks a later run. The file holds the holder's PID, which the refusal names.
    """

    NAME = ".lock"

    def __init__(self, directory: Path):
        self.path = Path(directory) / self.NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`zoo.errors.ConfigError` naming the process holding it."""
        from zoo.errors import ConfigError

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise ConfigError(f"{self.path.parent} is in use by {who} (a training or --resume of that run); wait for "
                              "it to end, or choose another --output") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:  # a Trainer built and never fitted must not hold the directory until exit
        self.release()

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    """The holder's PID; it writes it right after locking, so an empty file is read again for a moment."""
    import time

    for _ in range(50):
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text:
            return text
        time.sleep(0.01)
    return ""
