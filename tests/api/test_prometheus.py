"""The exposition of GET /metrics: the per-system lines written by hand are byte for byte what
prometheus-client writes for the same families, and the whole answer parses."""

from prometheus_client import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from api.prometheus import SYSTEM_FAMILIES, render, system_lines
from shared.model.verdict import Verdict
from shared.services.metrics import PartitionFigures, ServiceFigures, SystemFigures

SYSTEMS = [
    SystemFigures(1, "orders-etl", Verdict.UNHEALTHY, 0.25, 0.1235, 30.0),
    SystemFigures(2, 'odd "name" \\ with\na newline', Verdict.OK, 0.0, 1e-7, 12_345_678.5),
    SystemFigures(3, "never-evaluated", Verdict.NO_DATA, None, None, None),
    SystemFigures(4, "team/a", Verdict.DEGRADED, 1.0, 999_999.9, 0.0),
]


class Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def by_prometheus_client(systems: list[SystemFigures]) -> bytes:
    """The per-system families built the library's way (slow: ~15 µs a series)."""
    (verdict_name, verdict_help), *others = SYSTEM_FAMILIES
    verdicts = GaugeMetricFamily(verdict_name, verdict_help,
                                 labels=["system", "system_id", "verdict"])  # fmt: skip
    for s in systems:
        for v in Verdict:
            verdicts.add_metric([s.name, str(s.system_id), v.value], 1 if s.verdict is v else 0)
    families: list[Metric] = [verdicts]
    for (name, doc), pick in zip(others, ("error_ratio", "p95_s", "last_event_age_s"),
                                 strict=True):  # fmt: skip
        family = GaugeMetricFamily(name, doc, labels=["system", "system_id"])
        for s in systems:
            if getattr(s, pick) is not None:
                family.add_metric([s.name, str(s.system_id)], getattr(s, pick))
        families.append(family)
    return generate_latest(Families(families))


def test_per_system_lines_are_what_prometheus_client_writes() -> None:
    assert system_lines(SYSTEMS) == by_prometheus_client(SYSTEMS)
    assert system_lines([]) == by_prometheus_client([])


def test_the_whole_answer_parses_with_every_label_intact() -> None:
    service = ServiceFigures(
        partitions=[PartitionFigures(0, 120, 100, 1.5, 2, 3, 4, 0.25, 1)],
        workers_alive=2,
        requests={("POST", "/systems/{system_id}/events", 202): 7},
        latency={
            ("POST", "/systems/{system_id}/events"): ([1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 3.5)
        },  # fmt: skip
        rejected={("invalid", "batches"): 1, ("invalid", "events"): 9},
        deliveries={"delivered": 5},
        systems={Verdict.OK: 1},
        last_verdict_age_s=0.5,
    )
    text = render(service, SYSTEMS).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    events = (("method", "POST"), ("route", "/systems/{system_id}/events"))
    assert samples[("lso_http_requests_total", (*events, ("status", "202")))] == 7
    assert samples[("lso_http_request_duration_seconds_bucket", (("le", "0.005"), *events))] == 1
    assert samples[("lso_http_request_duration_seconds_bucket", (("le", "0.01"), *events))] == 3
    assert samples[("lso_http_request_duration_seconds_bucket", (("le", "+Inf"), *events))] == 7
    assert samples[("lso_http_request_duration_seconds_sum", events)] == 3.5
    assert samples[("lso_stream_backlog_events", (("partition", "0"),))] == 20
    assert samples[("lso_ingest_rejected_events_total", (("reason", "invalid"),))] == 9
    assert samples[("lso_deliveries_total", (("status", "queued"),))] == 0
    odd = (("system", SYSTEMS[1].name), ("system_id", "2"))
    assert samples[("lso_system_verdict", (*odd, ("verdict", "OK")))] == 1
    assert samples[("lso_system_last_event_age_seconds", odd)] == 12_345_678.5


def test_a_read_key_without_per_system_series_gets_an_empty_answer() -> None:
    assert render(None, None) == b""
