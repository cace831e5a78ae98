"""The figures of GET /metrics (shared/services/metrics.py) in Prometheus' text format (0.0.4).

The service's families go through prometheus-client (`generate_latest`). The per-system ones,
up to 7 series a system, are written here line by line in the very form `generate_latest`
gives them (labels sorted by name, escaped alike, values as `floatToGoString` writes them;
tests/api/test_prometheus.py compares the two byte for byte): prometheus-client's generic path
costs ~15 µs a series on this machine, 1.1 s for 10 000 systems, this one ~1 µs.
"""

from collections.abc import Iterable, Iterator

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from shared.model.verdict import Verdict
from shared.services.metrics import ServiceFigures, SystemFigures
from shared.services.tally import LATENCY_BOUNDS_S, REJECTION_REASONS

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
DELIVERY_STATUSES = ("queued", "delivered", "retrying", "failed")  # shown at 0 before any

# (name, help) of the per-system families, in the order they are written.
SYSTEM_FAMILIES = (
    ("lso_system_verdict", "1 for the system's recorded verdict, 0 for the other three"),
    ("lso_system_error_ratio", "Errors / events over the policy's window, at the last evaluation"),
    ("lso_system_latency_p95_seconds", "p95 latency over the policy's window, at the last "
     "evaluation"),
    ("lso_system_last_event_age_seconds", "Seconds since the newest event's ts"),
)  # fmt: skip


def render(service: ServiceFigures | None, systems: list[SystemFigures] | None) -> bytes:
    """The exposition of what the caller may see: the service's series, the systems' series."""
    out = b"" if service is None else generate_latest(_Families(service_families(service)))
    return out if systems is None else out + system_lines(systems)


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def service_families(f: ServiceFigures) -> list[Metric]:
    """The deployment's series (none of them per system)."""
    requests = CounterMetricFamily(
        "lso_http_requests", "HTTP requests answered, by route template and status",
        labels=["method", "route", "status"],
    )  # fmt: skip
    for (method, route, status), n in sorted(f.requests.items()):
        requests.add_metric([method, route, str(status)], n)
    latency = HistogramMetricFamily(
        "lso_http_request_duration_seconds", "Time from a request to the end of its answer",
        labels=["method", "route"],
    )  # fmt: skip
    bounds = [_go(b) for b in LATENCY_BOUNDS_S] + ["+Inf"]
    for (method, route), (counts, sum_s) in sorted(f.latency.items()):
        cumulative, running = [], 0
        for bound, n in zip(bounds, counts, strict=True):
            running += n
            cumulative.append((bound, float(running)))
        latency.add_metric([method, route], cumulative, sum_s)
    families: list[Metric] = [requests, latency]
    for unit in ("batches", "events"):
        rejected = CounterMetricFamily(
            f"lso_ingest_rejected_{unit}", f"Ingest {unit} refused, by reason "
            "(events: of the batches whose body was read)", labels=["reason"],
        )  # fmt: skip
        for reason in REJECTION_REASONS:
            rejected.add_metric([reason], f.rejected.get((reason, unit), 0))
        families.append(rejected)
    families += _partition_families(f)
    systems = GaugeMetricFamily(
        "lso_systems", "Registered systems by recorded verdict (NO_DATA too while not evaluated "
        "yet)", labels=["verdict"],
    )  # fmt: skip
    for verdict in Verdict:
        systems.add_metric([verdict.value], f.systems.get(verdict, 0))
    families.append(systems)
    if f.last_verdict_age_s is not None:
        families.append(GaugeMetricFamily(
            "lso_evaluator_last_verdict_age_seconds",
            "Seconds since the evaluator last recorded any verdict", value=f.last_verdict_age_s,
        ))  # fmt: skip
    deliveries = CounterMetricFamily(
        "lso_deliveries", "Notification deliveries: queued, and attempts' outcomes "
        "(retrying: an attempt failed, another follows)", labels=["status"],
    )  # fmt: skip
    for outcome in sorted({*DELIVERY_STATUSES, *f.deliveries}):
        deliveries.add_metric([outcome], f.deliveries.get(outcome, 0))
    families.append(deliveries)
    families.append(GaugeMetricFamily("lso_groups_open", "Channels' groups gathering "
                                      "transitions", value=f.groups_open))  # fmt: skip
    families.append(GaugeMetricFamily("lso_group_deliveries_pending", "Grouped deliveries "
                                      "neither delivered nor failed yet",
                                      value=f.groups_pending))  # fmt: skip
    families.append(GaugeMetricFamily("lso_workers_alive", "Stream workers with a recent "
                                      "heartbeat", value=f.workers_alive))  # fmt: skip
    return families


def _partition_families(f: ServiceFigures) -> list[Metric]:
    def family(
        kind: type[CounterMetricFamily | GaugeMetricFamily],
        name: str,
        doc: str,
        values: Iterator[float],
    ) -> Metric:
        metric = kind(name, doc, labels=["partition"])
        for p, value in zip(f.partitions, values, strict=True):
            metric.add_metric([str(p.partition)], value)
        return metric

    ps = f.partitions
    return [
        family(CounterMetricFamily, "lso_events_appended", "Events appended to the stream "
               "(accepted)", (p.events_in for p in ps)),
        family(CounterMetricFamily, "lso_events_drained", "Events applied or dead-lettered "
               "by the workers (rate(): the drain rate)", (p.events_out for p in ps)),
        family(GaugeMetricFamily, "lso_stream_backlog_events", "Events appended, not yet "
               "applied", (p.backlog_events for p in ps)),
        family(GaugeMetricFamily, "lso_stream_apply_delay_seconds", "How long the oldest entry "
               "not yet applied has waited (0: none waits)", (p.apply_delay_s for p in ps)),
        family(GaugeMetricFamily, "lso_dead_letters_held", "Entries in the dead-letter stream",
               (p.dead_letters_held for p in ps)),
        family(CounterMetricFamily, "lso_dead_letters_written", "Entries ever dead-lettered",
               (p.dead_letters_written for p in ps)),
        family(GaugeMetricFamily, "lso_evaluator_dirty_systems", "Systems with events applied "
               "since their last evaluation", (p.dirty_systems for p in ps)),
        family(GaugeMetricFamily, "lso_evaluator_overdue_seconds", "How late the earliest due "
               "evaluation is (silence, old events leaving a window; 0: none)",
               (p.overdue_s for p in ps)),
        family(GaugeMetricFamily, "lso_deliveries_pending", "Deliveries neither delivered nor "
               "failed yet", (p.undelivered for p in ps)),
    ]  # fmt: skip


def system_lines(systems: list[SystemFigures]) -> bytes:
    """The per-system families, as `generate_latest` would write them."""
    labels = [f'system="{_escape(s.name)}",system_id="{s.system_id}"' for s in systems]
    (verdict_name, verdict_help), *figures = SYSTEM_FAMILIES
    # One format per verdict for a system's four lines: the enum is slow to walk 10 000 times.
    line = verdict_name + '{{{0},verdict="%s"}} %s\n'
    formats = {
        verdict: "".join(line % (v.value, "1.0" if v is verdict else "0.0") for v in Verdict)
        for verdict in Verdict
    }
    out = [f"# HELP {verdict_name} {verdict_help}\n# TYPE {verdict_name} gauge\n"]
    out += [formats[s.verdict].format(label) for s, label in zip(systems, labels, strict=True)]
    columns = (
        [s.error_ratio for s in systems],
        [s.p95_s for s in systems],
        [s.last_event_age_s for s in systems],
    )
    for (name, doc), values in zip(figures, columns, strict=True):
        out.append(f"# HELP {name} {doc}\n# TYPE {name} gauge\n")
        out += [
            f"{name}{{{label}}} {_value(value)}\n"
            for label, value in zip(labels, values, strict=True)
            if value is not None
        ]
    return "".join(out).encode()


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _value(v: float) -> str:
    # floatToGoString's answer, without its cost for the values below a million (repr's form)
    return repr(float(v)) if 0 <= v < 1e6 else _go(v)


def _go(v: float) -> str:
    return str(floatToGoString(v))  # type: ignore[no-untyped-call]  # unannotated upstream
