"""The benchmark still runs end to end (tiny sizes, one run): it asserts nothing about speed."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import SIZES

pytestmark = [pytest.mark.slow, pytest.mark.process]


@pytest.mark.timeout(600)
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt)")
def test_smoke_run_writes_a_complete_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (report,) = tmp_path.glob("bench-*.json")
    result = json.loads(report.read_text())
    summary = result["summary"]
    for n in SIZES:
        for variant in ("floor", "naive", "lso"):
            assert summary[f"ingest_{n}_{variant}"]["req_s"]["median"] > 0
    assert summary["ingest_100_lso_applying"]["req_s"]["median"] > 0, "ingest, worker applying"
    assert {"e2e_closed", "e2e_sustained", "e2e_half"} <= summary.keys()
    assert summary["e2e_half"]["p99_ms"]["median"] > 0, "the visibility probe measured"
    assert {"drain_1w", "drain_2w", "drain_4w"} <= summary.keys()
    for workers in (1, 2, 4):
        drained = summary[f"drain_{workers}w"]
        assert drained["store_us_per_event"]["median"] > 0, "the store's time per event"
        assert drained["store_cpu_us_per_event"]["median"] > 0
    assert sum(1 for name in summary if name.startswith("health ")) == 2 * 3 * 2 + 1
    assert all(acc["ok"] for acc in result["accounting"]), result["accounting"]
    abuse = {name: agg for name, agg in summary.items() if agg["kind"] == "abuse"}
    assert abuse.keys() == {
        "abuse_amplification", "abuse_pool", "abuse_probe_flood", "abuse_slow_clients"
    }  # fmt: skip
    for name in ("abuse_amplification", "abuse_probe_flood", "abuse_slow_clients"):
        assert abuse[name]["figures"]["alone_events_s"]["median"] > 0, name
    assert result["runs"][0]["abuse_amplification"]["rejected"]["status"] == 422
    assert abuse["abuse_pool"]["figures"]["pct_202"]["median"] > 0
    assert abuse["abuse_slow_clients"]["figures"]["cut"]["median"] > 0, "slow clients were cut"
    assert not [p for p in result["problems"] if p.startswith("abuse")], result["problems"]
    for name in ("adapter_native_1", "adapter_ping", "adapter_openlineage", "adapter_native_100",
                 "adapter_otlp_100"):  # fmt: skip
        assert summary[name]["events_s"]["median"] > 0, name
    assert not [p for p in result["problems"] if p.startswith("adapters")], result["problems"]
    for name in ("fleet_ingest_one", "fleet_ingest_all"):
        assert summary[name]["events_s"]["median"] > 0, name
    for name in ("all", "unhealthy", "page", "next_page"):
        assert summary[f"fleet_overview_{name}"]["req_s"]["median"] > 0, name
    fleet = {name: agg["figures"] for name, agg in summary.items() if agg["kind"] == "fleet"
             and "figures" in agg}  # fmt: skip
    assert fleet["fleet_registration"]["systems_s"]["median"] > 0
    assert fleet["fleet_memory"]["registered_b"]["median"] > 0
    assert fleet["fleet_ingest_ratio"]["ratio"]["median"] > 0
    assert fleet["fleet_cpu"]["jobs"]["median"] > 0, "the jobs evaluated"
    assert fleet["fleet_overview"]["kib"]["median"] > 0
    for name in ("fleet_silence", "fleet_failing"):
        detected, systems = fleet[name]["detected"]["median"], fleet[name]["systems"]["median"]
        assert detected == systems >= 2, name
    assert not [p for p in result["problems"] if p.startswith("fleet")], result["problems"]
    assert result["machine"]["nproc"] >= 1
    assert (tmp_path / report.name.replace(".json", ".md")).read_text().startswith("# LSO bench")
