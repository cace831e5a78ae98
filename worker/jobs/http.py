"""POST a notification, connecting only to an address `check_url` approved (no second DNS lookup,
no redirects followed), within a time limit."""

import http.client
import socket
import ssl
from urllib.parse import urlsplit

from shared.model.channels import check_url

MAX_RESPONSE_BYTES = 4096


class DeliveryFailed(Exception):
    """The receiver could not be reached or did not answer 2xx (the message says which)."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout_s: float) -> None:
        super().__init__(host, port, timeout=timeout_s)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout_s: float) -> None:
        super().__init__(host, port, timeout=timeout_s, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(
    url: str, body: bytes, headers: dict[str, str], timeout_s: float, allow_private: bool
) -> int:
    """Send `body`; returns the 2xx status, raises DeliveryFailed otherwise."""
    try:
        address = check_url(url, allow_private)[0]
    except ValueError as exc:
        raise DeliveryFailed(str(exc)) from exc
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    kind = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    conn = kind(host, port, address, timeout_s)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body, {"Content-Length": str(len(body)), **headers})
        response = conn.getresponse()
        answer = response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        excerpt = answer[:200].decode("utf-8", "replace")
        raise DeliveryFailed(f"HTTP {response.status}: {excerpt}")
    return response.status
