"""A real Prometheus (Debian's `prometheus`) scrapes a real `lso up` with a key, as the scrape
config of docs/metrics.md says: a PromQL query returns the verdict series of a system made
UNHEALTHY, and the page's alerting rule (checked by promtool) fires for it."""

import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lso.embedded import free_port
from tests.support.events import event
from tests.support.processes import REPO
from tests.support.up import Up, lso_up
from tests.support.wait import wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NO_PROMETHEUS = "no prometheus binary (Debian: apt-get install prometheus; scripts/test does)"

pytestmark = [
    pytest.mark.process,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(PROMETHEUS).exists(), reason=NO_PROMETHEUS),
]
SYSTEM = "billing-etl"


def alerting_rules() -> str:
    """The rule file docs/metrics.md gives its readers."""
    page = (REPO / "docs" / "metrics.md").read_text()
    return next(b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "groups:" in b)


class Prometheus:
    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port, self.process, self.log = port, process, log

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}{query}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("query", query=promql)["result"]
        return result


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with lso_up(tmp_path / "data") as started:
        yield started


@pytest.fixture
def prometheus(up: Up, tmp_path: Path) -> Iterator[Prometheus]:
    rules = tmp_path / "lso-rules.yml"
    rules.write_text(alerting_rules())
    if Path(PROMTOOL).exists():
        checked = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True,
                                 text=True, timeout=60)  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{rules}]
scrape_configs:
  - job_name: lso
    metrics_path: /metrics
    authorization: {{credentials: {up.admin}}}
    static_configs: [{{targets: ["127.0.0.1:{up.port}"]}}]
""")
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Prometheus(port, process, log)
    try:
        wait_for(lambda: server.get("status/runtimeinfo"), 60, "Prometheus to answer")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_prometheus_scrapes_lso_and_sees_a_system_turn_unhealthy(
    up: Up, prometheus: Prometheus
) -> None:
    status, created = up.call("POST", "/systems", {"name": SYSTEM})
    assert status == 201, created
    errors = [event(datetime.now(UTC), status="error", latency_ms=80.0) for _ in range(20)]
    status, _ = up.call("POST", f"/systems/{created['system_id']}/events", {"events": errors})
    assert status == 202

    def unhealthy() -> list[dict[str, Any]] | None:
        found = prometheus.query(f'lso_system_verdict{{system="{SYSTEM}",verdict="UNHEALTHY"}}')
        return found if found and found[0]["value"][1] == "1" else None

    try:
        (series,) = wait_for(unhealthy, 90, "Prometheus to see the system UNHEALTHY")
    except AssertionError:
        raise AssertionError(f"{prometheus.log.read_text()[-3000:]}\n{up.tail()}") from None
    assert series["metric"]["system_id"] == str(created["system_id"])
    assert series["metric"]["job"] == "lso"

    (target,) = prometheus.get("targets")["activeTargets"]
    assert target["health"] == "up", target

    def firing() -> list[dict[str, Any]] | None:
        alerts = prometheus.get("alerts")["alerts"]
        mine = [a for a in alerts if a["labels"]["alertname"] == "LsoSystemUnhealthy"
                and a["labels"]["system"] == SYSTEM]  # fmt: skip
        return mine or None

    (alert,) = wait_for(firing, 30, "the page's alerting rule to take the system")
    assert alert["state"] in ("pending", "firing")  # `for: 2m` holds it pending first
    assert alert["annotations"]["summary"] == f"{SYSTEM} is UNHEALTHY"

    accepted = 'sum(lso_http_requests_total{route="/systems/{system_id}/events",status="202"})'
    (total,) = prometheus.query(accepted)
    assert float(total["value"][1]) >= 1, "the ingest fast path's request, counted"
    (appended,) = prometheus.query("sum(lso_events_appended_total)")
    assert float(appended["value"][1]) >= 20
