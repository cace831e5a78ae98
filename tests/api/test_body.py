"""Reading request bodies: limits before parsing, and a vanished client is not a server error."""

import asyncio
import gzip

import pytest
from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import Message

from api.body import read_json_body


def request(chunks: list[bytes], headers: dict[str, str], disconnect: bool = False) -> Request:
    messages: list[Message] = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1 or disconnect}
        for i, c in enumerate(chunks)
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})

    async def receive() -> Message:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive)


def read(req: Request, max_bytes: int = 100) -> bytes:
    return asyncio.run(read_json_body(req, max_bytes))


def status_of(req: Request, max_bytes: int = 100) -> int:
    with pytest.raises(HTTPException) as caught:
        read(req, max_bytes)
    return caught.value.status_code


def test_a_chunked_body_is_joined() -> None:
    assert read(request([b'{"a":', b"1}"], {})) == b'{"a":1}'


def test_a_client_that_disconnects_mid_body_gets_400_not_500() -> None:
    assert status_of(request([b'{"events": ['], {}, disconnect=True)) == 400


def test_a_chunked_body_without_length_is_cut_at_the_limit() -> None:
    assert status_of(request([b"x" * 60, b"x" * 60], {})) == 413


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    assert status_of(request([b""], {"content-length": "101"})) == 413


def test_gzip_is_limited_after_decompression_too() -> None:
    small = gzip.compress(b" " * 1000)
    assert status_of(request([small], {"content-encoding": "gzip"})) == 413
    assert read(request([gzip.compress(b"[1]")], {"content-encoding": "GZIP"})) == b"[1]"


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/csv"}, {"content-encoding": "deflate"}, {"content-type": "image/png"}],
)
def test_other_types_and_encodings_are_415(headers: dict[str, str]) -> None:
    assert status_of(request([b"{}"], headers)) == 415


def test_json_variants_are_accepted() -> None:
    for media in ("application/json; charset=utf-8", "application/vnd.lso+json"):
        assert read(request([b"{}"], {"content-type": media})) == b"{}"
