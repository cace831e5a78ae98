"""A small JSON client of the LSO API for the terminal commands (stdlib only): GETs with a key,
and every failure turned into an `ApiError` whose text is the one line to show."""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from lso.endpoint import Target

TIMEOUT_S = 10.0


class ApiError(Exception):
    """The API could not answer the request as asked; `str()` is one line for the terminal.
    `status`: the HTTP status, None when the API could not be reached at all."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth retrying (a follower keeps going): unreachable, or 503."""
        return self.status is None or self.status == 503


class ApiClient:
    def __init__(self, target: Target, timeout_s: float = TIMEOUT_S) -> None:
        self.target = target
        self._timeout_s = timeout_s

    def get(self, path: str, **params: str | int | None) -> Any:
        """The JSON answer of `GET path?params` (None values left out)."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = self.target.url + path + (f"?{query}" if query else "")
        headers = {"Accept": "application/json"}
        if self.target.key:
            headers["Authorization"] = f"Bearer {self.target.key}"
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            with error:
                raise self._refusal(error.code, path, error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, socket.timeout | TimeoutError):
                reason = f"no answer within {self._timeout_s:g} s"
            raise ApiError(
                f"cannot reach the API at {self.target.url} ({reason}); is `lso up` running? "
                "(or pass --url URL)"
            ) from None
        try:
            return json.loads(body)
        except ValueError:
            raise ApiError(f"{self.target.url}{path} did not answer JSON: is it LSO?") from None

    def _refusal(self, status: int, path: str, body: bytes) -> ApiError:
        detail = _detail(body)
        url, key_from = self.target.url, self.target.key_from
        if status == 401:
            return ApiError(
                f"the API at {url} refused the key from {key_from} (401: {detail}); "
                "pass the right one with --key KEY",
                status,
            )
        if status == 403:
            return ApiError(f"the key from {key_from} may not GET {path} (403: {detail})", status)
        if status == 503:
            return ApiError(f"the API at {url} is unavailable (503: {detail}); retry later", status)
        return ApiError(f"GET {path} at {url} answered {status}: {detail}", status)


def _detail(body: bytes) -> str:
    """The API's `detail`, on one line and bounded."""
    try:
        detail: Any = json.loads(body).get("detail", body.decode(errors="replace"))
    except (ValueError, AttributeError):
        detail = body.decode(errors="replace")
    text = " ".join(str(detail).split()) or "no detail"
    return text if len(text) <= 200 else text[:199] + "…"
