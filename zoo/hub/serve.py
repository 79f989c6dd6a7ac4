"""Serve a folder of published checkpoints over HTTP, with the Range requests that resumable downloads need.

    python -m zoo serve DIR --port 8000         # then on clients: ZOO_CATALOG=http://HOST:8000/catalog.json

Python's own ``http.server`` ignores Range headers, so an interrupted download could only start again; this handler
answers them (206) and sends file bodies with ``sendfile``. For a lasting zoo, any web server that honours Range
(nginx, Apache, S3) serves the same folder.
"""

from __future__ import annotations

import os
import re
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """GET and HEAD of files with single byte ranges; directory listings as ``http.server`` makes them."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._send(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._send(body=False)

    def _send(self, body: bool) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            if path.is_dir():
                return super().do_GET() if body else super().do_HEAD()
            self.send_error(HTTPStatus.NOT_FOUND, "file not found")
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        header = self.headers.get("Range")
        match = _RANGE.match(header.strip()) if header else None
        if match and match.group(1) == match.group(2) == "":
            match = None
        if match:
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            else:  # the last N bytes
                start = max(size - int(match.group(2)), 0)
            if start >= size or start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        length = end - start + 1
        self.send_response(HTTPStatus.PARTIAL_CONTENT if match else HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if body:
            self.send_body(path, start, length)

    def send_body(self, path: Path, start: int, length: int) -> None:
        """The bytes ``start .. start+length`` of ``path``; a subclass may cut or throttle them (tests do)."""
        with open(path, "rb") as f:
            self.wfile.flush()
            self.connection.sendfile(f, offset=start, count=length)


def make_server(
    directory: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    handler: type[RangeRequestHandler] = RangeRequestHandler,
) -> ThreadingHTTPServer:
    """A threaded server of ``directory``; port 0 picks a free one (``server.server_address[1]``)."""
    directory = os.fspath(directory)

    class Handler(handler):  # type: ignore[valid-type, misc]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(
    directory: str | Path, handler: type[RangeRequestHandler] = RangeRequestHandler
) -> ThreadingHTTPServer:
    """Start a loopback server in a daemon thread; call ``server.shutdown()`` when done."""
    server = make_server(directory, handler=handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
