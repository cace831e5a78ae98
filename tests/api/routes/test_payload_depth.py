"""Payload nesting: up to MAX_PAYLOAD_DEPTH levels accepted, deeper refused with a 422, never a
500, on both ingest paths (the raw fast path, and the routed one an Idempotency-Key takes)."""

import uuid

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.model.events import MAX_PAYLOAD_DEPTH
from tests.support.api import register
from tests.support.clock import Clock

JSON = {"Content-Type": "application/json"}


def _body(clock: Clock, depth: int) -> bytes:
    payload = '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)
    event = (
        f'{{"ts":"{clock.now.isoformat()}","event_type":"x","status":"ok","latency_ms":1,'
        f'"payload":{payload}}}'
    )
    return f'{{"events":[{event}]}}'.encode()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(depth=st.integers(1, 2000) | st.sampled_from([64, 65, 200, 253, 254, 255, 1021, 1024]))
def test_payload_depth_is_limited_on_both_ingest_paths(
    api: TestClient, clock: Clock, depth: int
) -> None:
    sid = register(api, "deep")
    body = _body(clock, depth)
    for headers in (JSON, {**JSON, "Idempotency-Key": uuid.uuid4().hex}):
        answer = api.post(f"/systems/{sid}/events", content=body, headers=headers)
        if depth <= MAX_PAYLOAD_DEPTH:
            assert answer.status_code == 202, answer.text
        else:
            assert answer.status_code == 422, answer.text
            (error,) = answer.json()["detail"]
            assert error["loc"][0] == "body"
            assert str(MAX_PAYLOAD_DEPTH) in error["msg"]
