"""OpenLineage RunEvents as native events (api/routes/lineage.py serves `POST /api/v1/lineage`).

- The system is the job, named `"<namespace>/<name>"`; when the event has a `parent` run facet
  (an Airflow task, a dbt model, a Spark job) it is the parent job, the event's own job name is
  the stage, and the parent's `runId` the run.
- `START` and `RUNNING` open the run (a `run_start` marker: running, not counted). `COMPLETE` is
  an ok event and `FAIL` / `ABORT` an error event (type `complete`, `fail`, `abort`), with
  `latency_ms` = its `eventTime` minus the `START` `eventTime` of the same OpenLineage run (0 when
  no START was seen); for a job's own run (no parent) a `run_end` marker follows, ending the LSO
  run. A task's end is one stage of its parent's run and does not end it. `OTHER` (or no type) is
  a `note`.
- The `errorMessage` facet's message is the error's text (payload `error`).
- An `eventTime` without an offset is taken as UTC.
- Every event gets the id `ol:<runId>:<eventType>:<eventTime>`, so a retried request (the
  client retries 5xx) is counted once.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from shared.errors import InvalidInput
from shared.model.events import ERROR_TEXT_FIELD, NOTE, RUN_END, RUN_START

STACK_TRACE_CHARS = 2000
MESSAGE_CHARS = 4000
_Text = Annotated[str, Field(min_length=1, max_length=1000)]


def _utc_if_naive(at: datetime) -> datetime:
    # The spec wants an offset; the Python client's own examples send `datetime.now()`
    # without one. Such a time is taken as UTC rather than refusing the whole integration.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


EventTime = Annotated[datetime, AfterValidator(_utc_if_naive)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Job(_Model):
    namespace: _Text
    name: _Text


class ParentRun(_Model):
    runId: Annotated[str, Field(min_length=1, max_length=128)]  # noqa: N815 (the protocol's names)


class Parent(_Model):
    job: Job
    run: ParentRun


class ErrorMessage(_Model):
    message: str
    programmingLanguage: str | None = None  # noqa: N815
    stackTrace: str | None = None  # noqa: N815


class RunFacets(_Model):
    parent: Parent | None = None
    errorMessage: ErrorMessage | None = None  # noqa: N815


class Run(_Model):
    runId: Annotated[str, Field(min_length=1, max_length=128)]  # noqa: N815
    facets: RunFacets | None = None


class RunEvent(_Model):
    eventType: Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"] | None = None  # noqa: N815
    eventTime: EventTime  # noqa: N815
    run: Run
    job: Job
    producer: str | None = None


@dataclass(frozen=True)
class Report:
    """What one RunEvent says, in LSO's words."""

    system_name: str
    stage: str | None
    run_id: str  # the LSO run: the parent's runId for a child job
    pair_id: str  # the event's own runId: its START and its end share it
    kind: Literal["start", "end", "note"]
    at: datetime
    event: RunEvent


def parse(body: bytes) -> Report:
    """The report of one RunEvent; InvalidInput naming the field (`loc` from "body")."""
    try:
        event = RunEvent.model_validate_json(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise InvalidInput(errors) from None
    facets = event.run.facets or RunFacets()
    job = event.job
    stage = None
    run_id = event.run.runId
    if facets.parent is not None:
        stage = job.name[:64]
        run_id = facets.parent.run.runId
        job = facets.parent.job
    kind: Literal["start", "end", "note"] = "note"
    if event.eventType in ("START", "RUNNING"):
        kind = "start"
    elif event.eventType in ("COMPLETE", "FAIL", "ABORT"):
        kind = "end"
    return Report(f"{job.namespace}/{job.name}", stage, run_id, event.run.runId, kind,
                  event.eventTime, event)  # fmt: skip


def native_events(report: Report, started_ms: int | None) -> list[dict[str, Any]]:
    """The native events of the report; `started_ms` is the START of its own run, if seen."""
    event = report.event
    event_type = (event.eventType or "OTHER").lower()
    payload: dict[str, Any] = {}
    error = (event.run.facets or RunFacets()).errorMessage
    if error is not None:
        payload[ERROR_TEXT_FIELD] = error.message[:MESSAGE_CHARS]
        if error.programmingLanguage:
            payload["programming_language"] = error.programmingLanguage[:64]
        if error.stackTrace:
            payload["stack_trace"] = error.stackTrace[:STACK_TRACE_CHARS]
    payload["openlineage"] = {
        "eventType": event_type.upper(),
        "runId": event.run.runId,
        "job": f"{event.job.namespace}/{event.job.name}"[:1000],
        **({"producer": event.producer[:500]} if event.producer else {}),
    }
    base: dict[str, Any] = {
        "ts": report.at.isoformat(),
        "status": "ok",
        "latency_ms": 0,
        "run_id": report.run_id,
        "payload": payload,
        "event_id": f"ol:{event.run.runId}:{event_type}:{report.at.isoformat()}"[:128],
    }
    if report.stage is not None:
        base["stage"] = report.stage
    if report.kind == "start":
        return [{**base, "event_type": RUN_START}]
    if report.kind == "note":
        return [{**base, "event_type": NOTE}]
    status = "ok" if event.eventType == "COMPLETE" else "error"
    latency_ms = 0.0
    if started_ms is not None:
        latency_ms = max(0.0, report.at.timestamp() * 1000 - started_ms)
    end = {**base, "status": status, "latency_ms": latency_ms, "event_type": event_type}
    if report.stage is not None:  # a child's end is a stage of its parent's run
        return [end]
    marker = {**end, "event_type": RUN_END, "event_id": base["event_id"][:120] + ":end"}
    return [end, marker]
