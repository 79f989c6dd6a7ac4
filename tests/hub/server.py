"""A loopback HTTP server for the download tests: Range requests, a request log, cut and slow modes."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from zoo.hub.serve import RangeRequestHandler, make_server


@dataclass
class Request:
    path: str
    range: str | None
    sent: int = 0


@dataclass
class ServerState:
    requests: list[Request] = field(default_factory=list)
    cut_next: int = 0  # cut the next N file responses after half their bytes
    delay_s: float = 0.0  # spread each body over about this long
    drip: tuple[int, float] | None = None  # (bytes, seconds): send that many bytes at a time, then wait that long
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gets(self, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def sent(self, suffix: str) -> int:
        return sum(r.sent for r in self.gets(suffix))


class _Handler(RangeRequestHandler):
    state: ServerState

    def send_body(self, path: Path, start: int, length: int) -> None:
        record = Request(self.path, self.headers.get("Range"))
        with self.state.lock:
            self.state.requests.append(record)
            cut = self.state.cut_next > 0
            self.state.cut_next -= cut
        count = length // 2 if cut else length
        pieces = 16 if self.state.delay_s else 1
        step = max(count // pieces, 1)
        if self.state.drip:
            step = self.state.drip[0]
        with open(path, "rb") as f:
            f.seek(start)
            done = 0
            while done < count:
                block = f.read(min(step, count - done))
                self.wfile.write(block)
                self.wfile.flush()
                done += len(block)
                record.sent = done
                if self.state.delay_s:
                    time.sleep(self.state.delay_s / pieces)
                if self.state.drip:
                    try:
                        time.sleep(self.state.drip[1])
                    except OSError:
                        return
        if cut:  # drop the connection mid-body, as a flaky network would
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


class LoopbackServer:
    """Serve ``directory`` on 127.0.0.1 in a thread; ``url(rel)`` gives a file's address."""

    def __init__(self, directory: Path):
        self.state = ServerState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = make_server(directory, handler=handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
