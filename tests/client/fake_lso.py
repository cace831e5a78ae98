"""A small in-process stand-in for LSO's ingest API, for the client's unit tests: a threaded
http.server on 127.0.0.1 that records every request and answers from a script.

By default it behaves like LSO: `POST /systems/{id}/events` answers 202 `{"accepted": n}` (an
Idempotency-Key seen before is accepted and not counted again), `GET /systems/by-name/{name}`
finds the systems in `names`, `POST /systems` registers a name. `answers` holds canned answers
(status, headers, body) given, in order, to event batches before the default behaviour; status 0
closes the connection without an answer (a network failure)."""

import gzip
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    raw: bytes  # as sent (gzipped or not)
    body: bytes  # decompressed

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.json["events"])


Answer = tuple[int, dict[str, str], Any]


@dataclass
class FakeLSO:
    url: str = ""
    names: dict[str, int] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    # Decides the answer to a request before the canned ones; None: go on as usual.
    hook: Callable[[Request], Answer | None] | None = None
    may_create: bool = True
    requests: list[Request] = field(default_factory=list)
    counted: list[dict[str, Any]] = field(default_factory=list)  # events of accepted batches, once
    keys_seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self) -> list[Request]:
        """Every event batch received, in order (retries included)."""
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and r.path.endswith("/events")]

    def handle(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            answer = self.hook(request) if self.hook else None
            if answer is None and self.answers and request.path.endswith("/events"):
                answer = self.answers.pop(0)
            if answer is not None:
                return answer
            return self._as_lso(request)

    def _as_lso(self, request: Request) -> Answer:
        if request.method == "GET" and request.path.startswith("/systems/by-name/"):
            name = unquote(request.path.removeprefix("/systems/by-name/"))
            if name in self.names:
                return 200, {}, {"system_id": self.names[name], "name": name}
            return 404, {}, {"detail": "Not Found"}
        if request.method == "POST" and request.path == "/systems":
            if not self.may_create:
                return 403, {}, {"detail": "this key may not register systems"}
            name = request.json["name"]
            created = name not in self.names
            self.names.setdefault(name, 100 + len(self.names))
            return (201 if created else 200), {}, {"system_id": self.names[name], "name": name}
        if request.method == "POST" and request.path.endswith("/events"):
            events = request.events
            key = request.headers.get("idempotency-key")
            if key is None or key not in self.keys_seen:
                self.counted.extend(events)
            if key is not None:
                self.keys_seen.add(key)
            return 202, {}, {"accepted": len(events)}
        return 404, {}, {"detail": "Not Found"}


def refusing_events(status: int, retry_after_s: int) -> Callable[[Request], Answer | None]:
    """A hook answering every event batch with `status` and Retry-After."""

    def refuse(request: Request) -> Answer | None:
        if request.path.endswith("/events"):
            return status, {"Retry-After": str(retry_after_s)}, {"detail": "not now"}
        return None

    return refuse


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as LSO's server does
    fake: FakeLSO

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
        request = Request(self.command, self.path, headers, raw, body)
        status, extra, answer = self.fake.handle(request)
        if status == 0:
            self.close_connection = True
            return
        content = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(content)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read `requests`


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on an answer (a timeout test): nothing to report


@contextmanager
def serve(fake: FakeLSO | None = None) -> Iterator[FakeLSO]:
    fake = fake or FakeLSO()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = _Server(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
