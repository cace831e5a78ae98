"""The real openlineage-python client, configured only by its environment variables, reporting
to a real `lso up` as Airflow's provider, dbt-ol and the Spark listener do."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.up import Up, lso_up
from tests.support.wait import wait_for

pytestmark = pytest.mark.process

SCRIPT = Path(__file__).parent / "clients" / "openlineage_job.py"


def report(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    done = subprocess.run([sys.executable, str(SCRIPT)], env={**clean, **env},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    ids: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return ids


def runs_of(up: Up, name: str) -> dict[str, Any]:
    system = up.get(f"/systems/by-name/{name}")
    return {r["run_id"]: r for r in up.get(f"/systems/{system['system_id']}/runs")["runs"]}


def counted_end(up: Up, name: str) -> dict[str, Any] | None:
    """The counted end of the system's only run, once applied and counted in its health."""
    system = up.get(f"/systems/by-name/{name}")
    if up.get(f"/systems/{system['system_id']}/health")["total"] != 1:
        return None
    events = up.get(f"/systems/{system['system_id']}/events")["events"]
    return next(e for e in events if e["event_type"] == "complete")


def test_openlineage_python_reports_runs_failures_and_tasks(tmp_path: Path) -> None:
    with lso_up(tmp_path / "data") as up:
        check_reports(up)


def check_reports(up: Up) -> None:
    status, key = up.call("POST", "/keys", {"kind": "namespace", "namespace": "etl"})
    assert status == 201, key

    # the full form, with gzip on
    ids = report({
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": up.url,
        "OPENLINEAGE__TRANSPORT__COMPRESSION": "gzip",
        "OPENLINEAGE__TRANSPORT__AUTH": json.dumps({"type": "api_key", "apiKey": key["token"]}),
    })  # fmt: skip

    def settled() -> dict[str, Any] | None:
        runs = runs_of(up, "etl/orders")
        done = {r["outcome"] for r in runs.values()} == {"succeeded", "failed"}
        return runs if done and len(runs) == 2 else None

    runs = wait_for(settled, 30, "both runs applied")
    assert runs[ids["ok"]]["outcome"] == "succeeded"
    assert 1.0 <= runs[ids["ok"]]["duration_seconds"] < 10
    assert runs[ids["failed"]]["outcome"] == "failed"
    system = up.get("/systems/by-name/etl/orders")
    health = up.get(f"/systems/{system['system_id']}/health")
    assert (health["total"], health["errors"]) == (2, 1)
    assert health["last_error"]["message"] == "relation orders_raw does not exist"
    dag = runs_of(up, "etl/orders_dag")
    assert dag[ids["dag"]]["stages"] == {"orders_dag.load": 1}

    # a COMPLETE before its START: counted with its duration, as in order
    late = wait_for(lambda: counted_end(up, "etl/late"), 30, "the late run's end counted")
    assert 2_900 < late["latency_ms"] < 3_100
    assert runs_of(up, "etl/late")[ids["late"]]["outcome"] == "succeeded"
    # a COMPLETE whose START never comes: counted by the jobs once its wait is over, latency 0
    lonely = wait_for(lambda: counted_end(up, "etl/lonely"), 30, "the lonely end counted")
    assert lonely["latency_ms"] == 0

    # the short form: OPENLINEAGE_URL and OPENLINEAGE_API_KEY
    again = report({"OPENLINEAGE_URL": up.url, "OPENLINEAGE_API_KEY": key["token"]})
    wait_for(lambda: again["ok"] in runs_of(up, "etl/orders") or None, 30, "the second report")
