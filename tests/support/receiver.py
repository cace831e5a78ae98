"""A local HTTP receiver for notification tests: records every POST, answers as scripted."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import orjson


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers with the statuses in `script` first, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def serve() -> Iterator[Receiver]:
    """A receiver on a free loopback port, for the `with` block."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(state.script.pop(0) if state.script else 200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
