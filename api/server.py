"""The HTTP server's own limits: uvicorn's httptools protocol with the guards a public port needs.

uvicorn bounds idle keep-alive connections only. Without more, a client that sends its headers a
byte at a time holds a connection for ever, and one that sends an endless header makes the parser
buffer all of it (ten unfinished 16 MiB headers cost the API ~105 MB). So each connection here:
- must finish a request's headers within LSO_HTTP_HEADER_TIMEOUT_S of their first byte, in at
  most LSO_HTTP_MAX_HEADER_BYTES (431 past that);
- must keep a body coming: at most LSO_HTTP_BODY_TIMEOUT_S between two chunks (unless the app
  itself stopped reading);
- is refused with a 503 and `Retry-After` while LSO_HTTP_MAX_CONNECTIONS are open.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.settings import get_settings

_CLOSE = b"content-length: 0\r\nconnection: close\r\n\r\n"
TOO_MANY = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n" + _CLOSE
HEADERS_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\n" + _CLOSE
TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\n" + _CLOSE


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = get_settings()
        self._header_timeout_s = s.http_header_timeout_s
        self._body_timeout_s = s.http_body_timeout_s
        self._max_header_bytes = s.http_max_header_bytes
        self._max_connections = s.http_max_connections
        self._in_headers = True  # between requests, or inside a request's headers
        self._header_bytes = 0
        self._headers_seen = 0  # requests whose headers were complete, on this connection
        self._in_body = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._max_connections:
            self._refuse(TOO_MANY)
            return
        self._arm(self._header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        waiting = self._in_headers
        if waiting and self._timer is None:  # the first byte of a request on a kept-alive one
            self._arm(self._header_timeout_s)
        elif self._in_body:
            self._arm(self._body_timeout_s)
        seen = self._headers_seen
        super().data_received(data)
        # Bytes count against the header limit only while the headers are still incomplete
        # after them: a chunk that also carries the body (or ends the headers) is not a header.
        if waiting and self._in_headers and self._headers_seen == seen:
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._refuse(HEADERS_TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._headers_seen += 1
        self._in_headers, self._in_body = False, True
        self._arm(self._body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_headers, self._in_body, self._header_bytes = True, False, 0
        self._disarm()
        super().on_message_complete()

    def _arm(self, delay_s: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay_s, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self._in_body and self.flow is not None and self.flow.read_paused:
            self._arm(self._body_timeout_s)  # the app is not reading: not the client's fault
            return
        self._refuse(TOO_SLOW)

    def _refuse(self, response: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()
