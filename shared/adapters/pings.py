"""Healthchecks-style ping URLs as native events (api/routes/pings.py serves them).

| ping                         | events                                                        |
|------------------------------|---------------------------------------------------------------|
| `/start`                     | `run_start` marker: the run shows as running                  |
| success, `/0`                | `ping` ok event, latency = time since its start (else 0), then |
|                              | a `run_end` marker when it closes a started run               |
| `/fail`, `/<1-255>`          | the same with status error                                    |
| `/log`                       | a `note`: kept with the raw events, changes nothing            |

The body (≤ PING_BODY_BYTES) is kept in the payload as text. A start without `?rid=` opens the
system's current run, which the next end without `rid` closes.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.model.events import NOTE, RUN_END, RUN_START

PING_BODY_BYTES = 10_000
# The payload that holds a whole body: JSON escaping can make text up to six times longer.
PING_PAYLOAD_BYTES = 6 * PING_BODY_BYTES + 256
EVENT_TYPE = "ping"
CURRENT_RUN = ""  # the pairing id of starts without a `rid`


class Signal(StrEnum):
    SUCCESS = "success"
    START = "start"
    FAIL = "fail"
    LOG = "log"


def signal_of_exit_status(exit_status: int) -> Signal:
    return Signal.SUCCESS if exit_status == 0 else Signal.FAIL


def ping_events(
    signal: Signal,
    at: datetime,
    body: bytes,
    run_id: str | None,
    started_ms: int | None = None,
    exit_status: int | None = None,
) -> list[dict[str, Any]]:
    """The native events of one ping at `at`; `run_id` is the run it belongs to (for an end:
    the run its start opened, which started at `started_ms`)."""
    ts = at.isoformat()
    payload: dict[str, Any] = {"ping": str(signal)}
    if exit_status is not None:
        payload["exit_status"] = exit_status
    if body:
        payload["body"] = body.decode("utf-8", errors="replace")
    base = {"ts": ts, "status": "ok", "latency_ms": 0, "payload": payload}
    if run_id is not None:
        base["run_id"] = run_id
    if signal is Signal.START:
        return [{**base, "event_type": RUN_START}]
    if signal is Signal.LOG:
        return [{**base, "event_type": NOTE}]
    status = "ok" if signal is Signal.SUCCESS else "error"
    latency_ms = 0.0
    if started_ms is not None:
        latency_ms = max(0.0, at.timestamp() * 1000 - started_ms)
    end = {**base, "status": status, "latency_ms": latency_ms}
    events = [{**end, "event_type": EVENT_TYPE}]
    if run_id is not None:
        events.append({**end, "event_type": RUN_END})
    return events
