"""Events for the tests, in the two shapes they take: the JSON a client sends (`event`, `batch`,
`varied`) and the compact row a stream entry holds (`row`, the order of shared/model/codec.py)."""

import time
from datetime import UTC, datetime
from typing import Any


def now_ms() -> int:
    return int(time.time() * 1000)


def event(
    ts: datetime, *, status: str = "ok", latency_ms: float = 12.5, **fields: Any
) -> dict[str, Any]:
    """One event as a client sends it; `fields` adds the optional ones (run_id, stage, event_id,
    payload, system_id) or replaces any (event_type)."""
    return {
        "ts": ts.isoformat(),
        "event_type": "load",
        "status": status,
        "latency_ms": latency_ms,
        **fields,
    }


def batch(ts: datetime, n: int, status: str = "ok", **fields: Any) -> dict[str, Any]:
    """A request body of `n` like events."""
    return {"events": [event(ts, status=status, **fields) for _ in range(n)]}


def varied(n: int, *, seed: int, **fields: Any) -> list[dict[str, Any]]:
    """`n` events at the real time, as a job sends them: every fifth (counting from `seed`) an
    error, latencies from 0 to 96 ms."""
    now = datetime.now(UTC)
    return [
        event(now, status="error" if (seed + i) % 5 == 0 else "ok", latency_ms=float(i % 97),
              **fields)
        for i in range(n)
    ]  # fmt: skip


def row(
    ts_ms: int | None = None,
    *,
    error: bool = False,
    latency_ms: float = 10.0,
    event_type: str = "step",
    stage: str | None = "extract",
    run_id: str | None = "run-1",
    event_id: str | None = None,
    payload: Any = None,
) -> list[Any]:
    """One event as validation leaves it and the stream entry holds it (default: now)."""
    ts = now_ms() if ts_ms is None else ts_ms
    return [ts, int(error), latency_ms, event_type, stage, run_id, event_id, payload]


def as_sent(compact: list[Any]) -> dict[str, Any]:
    """The event a client would send for a compact row (the inverse of validation): `ts` in
    milliseconds with a Z, the absent optional fields left out."""
    ts_ms, error, latency_ms, event_type, stage, run_id, event_id, payload = compact
    at = datetime.fromtimestamp(ts_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    event = {"ts": f"{at}.{ts_ms % 1000:03d}Z", "event_type": event_type,
             "status": "error" if error else "ok", "latency_ms": latency_ms}  # fmt: skip
    optional = {"stage": stage, "run_id": run_id, "event_id": event_id, "payload": payload}
    return event | {k: v for k, v in optional.items() if v is not None}
