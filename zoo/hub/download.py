"""Verified, resumable, locked downloads into the checkpoint cache.

The order in which a file is looked for is written down once, in :func:`fetch`:

1. the cache (a verified copy, or a file placed there by hand, which is hashed first);
2. offline (``ZOO_OFFLINE=1``)? stop with an error naming the file and the mirror option;
3. under a file lock (one download per machine, however many processes or DDP ranks ask), each source in turn:
   ``ZOO_MIRROR`` (a base URL or directory laid out as ``<task>/<model>.<tag>/<file>``), then the entry's sources.

Each download appends to ``<file>.partial`` and resumes it with an HTTP Range request after a dropped connection or a
restart, retrying with back-off; the bytes are hashed as they arrive, and only a file whose sha256 matches the
catalog is renamed into place. A mismatch removes the partial file and leaves the cache as it was.

For an upstream file whose publisher gives no hash (``verify: weights``) the checks are the byte count the server
announced (``Content-Length``) and loading the file as weights without running code; one that fails is removed in
the same way, and one that passes has its sha256 pinned in the cache record (trust on first download). A repository
snapshot (``format: hf``) is fetched into a folder the same way, by ``zoo.hub.snapshot``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path

from zoo.errors import DownloadError, HashMismatchError, OfflineError, UnsafeFileError
from zoo.hub import cache
from zoo.hub.catalog import SNAPSHOT, CheckpointEntry
from zoo.hub.settings import mirror, offline
from zoo.io import atomic_write_json, disk_full, free_space, fsync

CHUNK = 4 << 20
BUFFERS = 4
TIMEOUT_S = 30.0  # to connect, and for each read
# A transfer must average at least MIN_RATE_BYTES_S after a grace period: a server dripping a few bytes at a time
# (each read within TIMEOUT_S) would otherwise hold the download, and its lock, forever. The partial file is kept.
MIN_RATE_BYTES_S = 4096.0
RATE_GRACE_S = 60.0
USER_AGENT = "zoo-hub/1"


class _Unreachable(DownloadError):
    """The host cannot be reached at all (no route, no DNS): retrying the same source will not help."""


class _Permanent(DownloadError):
    """The server answered with an error that will not change on retry (404, 403...)."""


class _TooSlow(_Permanent):
    """The server sends slower than MIN_RATE_BYTES_S: retrying the same server at once will not help."""


class DiskFullError(DownloadError):
    """The cache's disk is full: no source and no retry can help until space is freed."""


def fetch(
    entry: CheckpointEntry,
    *,
    progress: bool | None = None,
    retries: int = 4,
    backoff_s: float = 0.5,
    mirror_location: str | None = None,
) -> Path:
    """The verified local file of ``entry``, downloading it once if it is not cached; archives come extracted, and
    a repository snapshot (``format: hf``) is its folder."""
    from filelock import FileLock, Timeout

    target = cache.path_for(entry)
    if cache.is_cached(entry) or cache.adopt(entry):
        return _unpacked(entry, target)
    if offline():
        raise OfflineError(_missing_message(entry, "ZOO_OFFLINE=1 forbids downloading it"))
    cache.lock_for(entry).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache.lock_for(entry)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for another process downloading {entry.name} ...", file=sys.stderr)
        lock.acquire()
    try:
        if cache.is_cached(entry):
            return _unpacked(entry, target)
        show = sys.stderr.isatty() if progress is None else progress
        pinned = cache.pinned_sha256(entry)
        errors: list[str] = []
        mismatch = False
        for source in sources(entry, mirror_location or mirror()):
            files = None  # a snapshot's manifest, hashed once while it was checked
            try:
                if entry.format == SNAPSHOT:
                    from zoo.hub import snapshot

                    digest, files = snapshot.download(source, entry, pinned)
                else:
                    digest = _download(source, entry, show, retries, backoff_s, pinned)
            except DiskFullError:
                raise
            except DownloadError as error:
                errors.append(f"{source}: {error}")
                mismatch = mismatch or isinstance(error, HashMismatchError)
                continue
            if target.is_dir():  # a snapshot fetched again (changed or incomplete): the new one replaces it
                shutil.rmtree(target)
            os.replace(cache.partial_for(entry), target)
            fsync(target.parent)
            cache.write_record(target, entry, digest, source, files)
            return _unpacked(entry, target)
        partial = cache.partial_for(entry)
        if partial.is_file() and partial.stat().st_size == 0:
            partial.unlink()
        cache.prune_empty(target.parent)
        listing = "; ".join(errors)
        if mismatch:
            raise HashMismatchError(f"{entry.name}: no source gave the file the catalog describes ({listing})")
        raise DownloadError(_missing_message(entry, f"every source failed ({listing})"))
    finally:
        lock.release()


def _missing_message(entry: CheckpointEntry, why: str) -> str:
    return (
        f"{entry.name} ({entry.file_name}) is not in the cache ({cache.path_for(entry)}) and {why}. "
        f"Copy the file there, or point ZOO_MIRROR at a directory or URL holding {entry.relpath}, "
        f"or run `python -m zoo download {entry.name}` where the network is reachable"
    )


def sources(entry: CheckpointEntry, mirror_location: str | None = None) -> list[str]:
    """Where the file may be had, in the order tried: the mirror, then the entry's own sources."""
    found = []
    if mirror_location:
        found.append(_join(mirror_location, entry.relpath))
    for source in entry.sources:
        if source.startswith(("http://", "https://", "hf://", "file://")) or os.path.isabs(source) or not entry.origin:
            found.append(source)
        else:
            found.append(_join(entry.origin, source))
    return found


def _join(base: str, relative: str) -> str:
    if base.startswith(("http://", "https://")):
        return urllib.parse.urljoin(base if base.endswith("/") else base + "/", relative)
    return str(Path(base).expanduser() / relative)


def _download(
    source: str, entry: CheckpointEntry, show: bool, retries: int, backoff_s: float, pinned: str = ""
) -> str:
    """Fill the partial file from ``source`` and return its sha256; raises with a reason the user can act on.

    A resumed file that fails the check is fetched once more from the start: the partial bytes may have come from
    an older file of the same name. An entry without a published hash is checked by loading it as weights, or,
    when the cache already pinned its sha256 (the cached copy changed and is fetched again), against that.
    """
    partial = cache.partial_for(entry)
    partial.parent.mkdir(parents=True, exist_ok=True)
    resumed = partial.exists() and partial.stat().st_size > 0
    sink = _Sink(partial, entry, show)
    try:
        try:
            if source.startswith(("http://", "https://", "hf://")):
                url, headers = _http_location(source)
                _with_retries(lambda: _http_get(url, headers, sink, entry.size), retries, backoff_s)
            else:
                _copy_local(source, entry, sink)
            digest = sink.hexdigest()
        finally:
            sink.close()
    except OSError as error:
        if disk_full(error) and not isinstance(error, DownloadError):
            raise DiskFullError(
                f"{entry.name}: the disk is full writing {partial} ({free_space(partial.parent)}, "
                f"{sink.count} of {entry.size or '?'} bytes received and kept). Free some space, or point ZOO_HOME "
                "at a larger disk, and run the same command again: the download resumes"
            ) from error
        raise
    problem = ""
    if entry.size and sink.count != entry.size:
        problem = f"got {sink.count} bytes, the catalog says {entry.size}"
    elif entry.verify == "weights" and not pinned:  # no published hash to compare with
        problem = cache.weights_problem(entry, partial)
    elif not cache.matches(entry, digest, pinned):
        problem = f"sha256 {digest} does not match the catalog's {entry.sha256 or entry.sha256_prefix + '...'}"
        if entry.verify == "weights":
            problem = (f"sha256 {digest} differs from {pinned}, pinned when the file was first downloaded "
                       f"(`python -m zoo cache clear {entry.name}` accepts a new file)")
    if not problem:
        return digest
    partial.unlink(missing_ok=True)
    if resumed:
        return _download(source, entry, show, retries, backoff_s, pinned)
    raise HashMismatchError(f"{problem}; the file was discarded")


def _http_location(source: str) -> tuple[str, dict[str, str]]:
    """``hf://owner/repo[@revision]/path`` goes through huggingface_hub (endpoint, token); URLs stay as they are."""
    if not source.startswith("hf://"):
        return source, {}
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers

    parts = source.removeprefix("hf://").split("/")
    if len(parts) < 3:
        raise _Permanent(f"{source} is not hf://owner/repo[@revision]/path/in/repo")
    repo, _, revision = "/".join(parts[:2]).partition("@")
    url = hf_hub_url(repo, "/".join(parts[2:]), revision=revision or None)
    return url, {k: v for k, v in build_hf_headers().items() if k.lower() == "authorization"}


def _with_retries(attempt: Callable[[], None], retries: int, backoff_s: float) -> None:
    for n in range(retries + 1):
        try:
            return attempt()
        except (_Permanent, _Unreachable):
            raise
        except OSError as error:
            if disk_full(error):  # not the network: retrying cannot help
                raise
            if n == retries:
                raise DownloadError(f"gave up after {retries + 1} attempts: {error}") from error
            time.sleep(min(backoff_s * 2**n, 30.0))
        except (HTTPException, DownloadError) as error:  # dropped connection, timeout, 5xx, short read
            if n == retries:
                raise DownloadError(f"gave up after {retries + 1} attempts: {error}") from error
            time.sleep(min(backoff_s * 2**n, 30.0))


def _http_get(url: str, headers: dict[str, str], sink: _Sink, size: int) -> None:
    """One attempt: ask for the bytes after those already on disk and append them."""
    start = sink.sync()
    if size and start >= size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start:
        request.add_header("Range", f"bytes={start}-")
    for key, value in headers.items():
        request.add_unredirected_header(key, value)  # a token is not forwarded to a redirected host
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == 416 and start:  # the partial file is already complete, or not the server's file
            if not size:
                return
            sink.restart()
            raise DownloadError("the server rejected the resume; starting again") from error
        if error.code in (408, 425, 429) or error.code >= 500:
            raise DownloadError(f"HTTP {error.code} {error.reason}") from error
        raise _Permanent(f"HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        reason = error.reason
        no_route = getattr(reason, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH)
        if isinstance(reason, socket.gaierror) or no_route:
            raise _Unreachable(f"unreachable ({reason}); offline? see ZOO_MIRROR") from error
        raise
    with response:
        if start and response.status != 206:  # the server ignored the Range header: take the whole file again
            sink.restart()
            start = 0
        elif start and not response.headers.get("Content-Range", "").startswith(f"bytes {start}-"):
            sink.restart()
            raise DownloadError(f"the server answered the resume with {response.headers.get('Content-Range')}")
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        sink.open_bar(start + expected if expected is not None else (size or None))
        guard = _RateGuard(response, sink, expected if expected is not None else (size - start if size else None))
        try:
            received = sink.pump(response)
        except (OSError, HTTPException) as error:
            if guard.expired:
                raise _TooSlow(guard.message()) from error
            raise
        finally:
            guard.stop()
        if guard.expired:
            raise _TooSlow(guard.message())
        if expected is not None and received < expected:
            raise DownloadError(f"connection closed after {start + received} of {start + expected} bytes")


class _RateGuard:
    """Ends a transfer that averages under MIN_RATE_BYTES_S (after RATE_GRACE_S) by shutting its socket down.

    The allowed time grows with the bytes still expected (or, when the length is unknown, with what arrived plus
    one buffer), so a large file on a slow but working link is never cut; a server dripping bytes is.
    """

    def __init__(self, response: object, sink: _Sink, expected: int | None):
        self.response, self.sink, self.expected = response, sink, expected
        self.first = sink.count
        self.started = time.monotonic()
        self.expired = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def allowed_s(self) -> float:
        total = self.expected if self.expected is not None else self.sink.count - self.first + CHUNK
        return RATE_GRACE_S + total / MIN_RATE_BYTES_S

    def _watch(self) -> None:
        while not self._done.wait(min(0.5, RATE_GRACE_S / 4)):
            if time.monotonic() - self.started > self.allowed_s():
                self.expired = True
                sock = getattr(getattr(getattr(self.response, "fp", None), "raw", None), "_sock", None)
                try:
                    if sock is not None:
                        sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read; close() alone may not
                    else:
                        self.response.close()
                except OSError:
                    pass
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def message(self) -> str:
        elapsed = time.monotonic() - self.started
        return (f"the server sent {self.sink.count - self.first} bytes in {elapsed:.0f} s, under "
                f"{MIN_RATE_BYTES_S / 1024:g} KiB/s (the slowest transfer zoo waits for); the {self.sink.count} "
                f"bytes received are kept in {self.sink.path}, and running the same command again resumes there")


def _copy_local(source: str, entry: CheckpointEntry, sink: _Sink) -> None:
    """A file or a shared directory holding the file (``file://`` or a path); copied, hashed like a download."""
    path = Path(urllib.parse.unquote(urllib.parse.urlparse(source).path) if source.startswith("file://") else source)
    path = path.expanduser()
    if path.is_dir():
        path = path / entry.file_name
    if not path.is_file():
        raise DownloadError(f"{path} does not exist")
    sink.restart()
    sink.open_bar(path.stat().st_size)
    with open(path, "rb") as f:
        sink.pump(f)


def _unpacked(entry: CheckpointEntry, target: Path) -> Path:
    """The weights file itself: the download, or the member of an archive extracted safely beside it.

    The member must lie inside the extraction folder (a catalog's ``member`` of ``../..`` would otherwise name any
    file on the machine), and it is used only while it is the file extracted from the verified archive: its sha256,
    size and time are recorded beside the folder, so an extracted file changed or swapped since is extracted again.
    """
    if not entry.archive:
        return target
    from zoo.hub.safety import safe_extract

    folder = target.with_name(target.name + ".d")
    member = inside(folder, entry.member, f"{entry.name}: the archive member")
    archive_sha256 = (cache.read_record(target) or {}).get("sha256", "")
    if not _extracted(member, folder, entry.member, archive_sha256):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.d")
        shutil.rmtree(tmp, ignore_errors=True)
        safe_extract(target, tmp, entry.archive)
        found = inside(tmp, entry.member, f"{entry.name}: the archive member")
        if not found.is_file() or found.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
            raise DownloadError(f"{entry.name}: the archive {target} holds no {entry.member}")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        stat = member.stat()
        atomic_write_json(cache.record_for(folder), {
            "archive_sha256": archive_sha256, "member": entry.member, "sha256": cache.sha256_file(member),
            "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        })
    return member


def inside(folder: Path, relative: str, what: str) -> Path:
    """``folder / relative`` when it resolves inside ``folder`` (no ``..``, absolute path or link out of it)."""
    root = folder.resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise UnsafeFileError(f"{what} {relative!r} resolves to {path}, outside {root}; refused")
    return path


def _extracted(member: Path, folder: Path, name: str, archive_sha256: str) -> bool:
    """The member extracted earlier from this very archive, unchanged since (size and time, as the cache checks)."""
    record = cache.read_record(folder) or {}
    if not archive_sha256 or record.get("archive_sha256") != archive_sha256 or record.get("member") != name:
        return False
    if not member.is_file() or member.is_symlink():
        return False
    stat = member.stat()
    return record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None


_SYNC_FILE_RANGE = _sync_file_range() if sys.platform.startswith("linux") else None
WRITEBACK = 32 << 20


def _start_writeback(fd: int, flushed: int, written: int) -> int:
    """Ask Linux to start writing what arrived to disk now, so the final fsync has little left to wait for."""
    if _SYNC_FILE_RANGE is None or written - flushed < WRITEBACK:
        return flushed
    import ctypes

    _SYNC_FILE_RANGE(fd, ctypes.c_int64(flushed), ctypes.c_int64(written - flushed), 2)  # SYNC_FILE_RANGE_WRITE
    return written


class _Sink:
    """The partial file, its running sha256 and the progress bar, kept consistent across attempts."""

    def __init__(self, path: Path, entry: CheckpointEntry, show: bool):
        self.path, self.entry, self.show = path, entry, show
        self.digest = hashlib.sha256()
        self.count = 0
        self._flushed = 0
        self.file = None
        self.bar = None

    def sync(self) -> int:
        """Bring the hash up to the bytes on disk (a partial file left by an earlier process) and open to append."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if size != self.count:
            self.digest, self.count = hashlib.sha256(), 0
            if size:
                with open(self.path, "rb") as f:
                    while block := f.read(1 << 22):
                        self.digest.update(block)
                        self.count += len(block)
        return self.count

    def restart(self) -> None:
        if self.file is not None:
            self.file.close()
        self.file = open(self.path, "wb", buffering=0)
        self.digest, self.count = hashlib.sha256(), 0

    def open_bar(self, total: int | None) -> None:
        if self.show and self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=self.count, unit="B", unit_scale=True, unit_divisor=1024,
                            desc=self.entry.name, file=sys.stderr, mininterval=0.5, dynamic_ncols=True)

    def pump(self, stream) -> int:
        """Copy ``stream`` to the file, hashing as it goes; returns the bytes received.

        The calling thread only receives; a second thread writes and hashes the previous buffers (both release the
        GIL), so verifying costs little of the transfer rate.
        """
        if self.file is None:
            self.file = open(self.path, "ab", buffering=0)
        free: queue.Queue[bytearray] = queue.Queue()
        full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        for _ in range(BUFFERS):
            free.put(bytearray(CHUNK))
        failure: list[BaseException] = []
        worker = threading.Thread(target=self._drain, args=(free, full, failure), daemon=True)
        worker.start()
        received = 0
        try:
            while not failure:
                buffer = free.get()
                n = stream.readinto(buffer)
                if not n:
                    break
                full.put((buffer, n))
                received += n
        finally:
            full.put(None)
            worker.join()
        if failure:
            raise failure[0]
        return received

    def _drain(self, free: queue.Queue, full: queue.Queue, failure: list[BaseException]) -> None:
        while (item := full.get()) is not None:
            buffer, n = item
            if not failure:
                try:
                    chunk = memoryview(buffer)[:n]
                    self.file.write(chunk)
                    self.digest.update(chunk)
                    self.count += n
                    self._flushed = _start_writeback(self.file.fileno(), self._flushed, self.count)
                    if self.bar is not None:
                        self.bar.update(n)
                except BaseException as error:  # a full disk: reported by the receiving thread
                    failure.append(error)
            free.put(buffer)

    def hexdigest(self) -> str:
        return self.digest.hexdigest()

    def close(self) -> None:
        if self.file is not None:
            os.fsync(self.file.fileno())
            self.file.close()
            self.file = None
        if self.bar is not None:
            self.bar.close()
