"""HTTP to one LSO: a kept-alive connection, the key, and answers read in full.

Used by the sender thread only, so it needs no lock."""

import email.utils
import http.client
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lso_client.version import __version__

# Failures that a connection kept alive since the last request shows when the server closed it
# meanwhile: the request never reached the server, so it is sent again at once, once.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class TransportError(Exception):
    """No answer: the connection failed, timed out or broke; the request may or may not have
    reached the server."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    retry_after_s: float | None = None

    def json(self) -> Any:
        """The body as JSON, or None when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def excerpt(self, limit: int = 300) -> str:
        text = self.body.decode(errors="replace").strip()
        return text if len(text) <= limit else text[:limit] + "..."


def parse_retry_after(value: str | None, now_s: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None without one."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))


class Transport:
    def __init__(self, url: str, key: str | None, timeout_s: float) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {"User-Agent": f"lso-client/{__version__}", "Accept": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request and read its answer; raises TransportError when there is none."""
        all_headers = {**self._headers, **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        reused = self._conn is not None
        try:
            return self._exchange(method, self._prefix + path, body, all_headers)
        except STALE_CONNECTION as exc:
            self.close()
            if not reused:
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        try:
            return self._exchange(method, self._prefix + path, body, all_headers)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> Answer:
        if self._conn is None:
            self._conn = self._connect()
        self._conn.request(method, path, body, headers)
        response = self._conn.getresponse()
        content = response.read()
        if response.getheader("connection", "").lower() == "close":
            self.close()
        return Answer(
            response.status, content, parse_retry_after(response.getheader("retry-after"))
        )

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            context = ssl.create_default_context()
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout_s, context=context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def forget(self) -> None:
        """In a forked child: let go of the parent's connection without using it. Closing the
        child's copy of the socket sends nothing while the parent still holds it."""
        self._conn = None
