"""gzip bodies are honoured whole or refused: several members are one body (RFC 1952), bytes
after the stream are a 400, never silently dropped."""

import gzip
from datetime import UTC, datetime

import orjson
from fastapi.testclient import TestClient

from tests.support.events import batch

GZIP = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def _events(n: int) -> bytes:
    return orjson.dumps(batch(datetime.now(UTC), n, latency_ms=3))


def test_two_gzip_members_are_one_body(api: TestClient) -> None:
    sid = api.post("/systems", json={"name": "gz"}).json()["system_id"]
    body = _events(4)
    half = len(body) // 2
    content = gzip.compress(body[:half]) + gzip.compress(body[half:])
    answer = api.post(f"/systems/{sid}/events", content=content, headers=GZIP)
    assert answer.status_code == 202 and answer.json() == {"accepted": 4}


def test_bytes_after_the_gzip_stream_are_refused(api: TestClient) -> None:
    sid = api.post("/systems", json={"name": "gz-junk"}).json()["system_id"]
    content = gzip.compress(_events(2)) + b"trailing junk"
    answer = api.post(f"/systems/{sid}/events", content=content, headers=GZIP)
    assert answer.status_code == 400
    assert "after the stream" in answer.json()["detail"]
