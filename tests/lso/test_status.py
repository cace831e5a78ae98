"""`lso status` against a real `lso up`: the fleet table (verdicts, reasons, last event, error
rate, p95), its filters, the API and admin key found through the data dir, and one-line errors
when nothing runs or the key is wrong; `--watch` redraws in place until Ctrl-C."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lso import endpoint, status
from lso.api_client import ApiError
from lso.embedded import free_port
from tests.lso.conftest import Looked, lso_env, run_lso
from tests.support.events import event
from tests.support.wait import wait_for

pytestmark = pytest.mark.process


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lso: "), result.stderr
    return lines[0]


def rows(output: str) -> dict[str, list[str]]:
    """The table's rows by system name: the cells of each."""
    found = {}
    for text in output.splitlines():
        cells = [c.strip() for c in text.strip().strip("│").split("│")]
        if len(cells) == 8 and cells[0].isdigit():
            found[cells[1]] = cells
    return found


def milliseconds(cell: str) -> float:
    assert cell.endswith(" ms"), cell
    return float(cell.removesuffix(" ms"))


def verdicts(output: str) -> dict[str, str]:
    return {name: cells[2] for name, cells in rows(output).items()}


@pytest.fixture(scope="module")
def fleet(looked_at: Looked) -> dict[str, int]:
    """Three systems: one failing, one fine, one that never reported; their verdicts recorded."""
    now = datetime.now(UTC)
    ids = {name: looked_at.register(name) for name in ("st-failing", "st-fine", "st-quiet")}
    failing = [event(now, status="error", latency_ms=400.0), event(now, latency_ms=400.0)]
    fine = [event(now, latency_ms=20.0) for _ in range(4)]
    for name, events in (("st-failing", failing), ("st-fine", fine)):
        looked_at.ok("POST", f"/systems/{ids[name]}/events", {"events": events})

    def evaluated() -> bool:
        lines = looked_at.ok("GET", "/health?prefix=st-")["systems"]
        verdicts = {line["name"]: line["health"] for line in lines}
        return verdicts == {"st-failing": "UNHEALTHY", "st-fine": "OK", "st-quiet": "NO_DATA"}

    wait_for(evaluated, 30, "the jobs to evaluate the three systems")
    return ids


def test_the_table_shows_each_system_worst_first(
    looked_at: Looked, fleet: dict[str, int], tmp_path: Path
) -> None:
    shown = run_lso("status", "--prefix", "st-", "--data-dir", str(looked_at.data_dir),
                    cwd=tmp_path)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    table = rows(shown.stdout)
    assert list(table) == ["st-failing", "st-quiet", "st-fine"], shown.stdout  # worst first
    failing, quiet, fine = table["st-failing"], table["st-quiet"], table["st-fine"]
    assert failing[0] == str(fleet["st-failing"])
    assert (failing[2], failing[5]) == ("UNHEALTHY", "50.0 %")
    assert abs(milliseconds(failing[6]) - 400) <= 8  # the sketch's 2 %
    assert failing[7].startswith("error rate 0.5"), failing
    assert failing[4].endswith("s ago")  # the last event: seconds ago
    assert (fine[2], fine[5]) == ("OK", "0.0 %") and abs(milliseconds(fine[6]) - 20) <= 1
    assert (quiet[2], quiet[4], quiet[5], quiet[6]) == ("NO_DATA", "never", "-", "-")
    assert f"LSO at {looked_at.url}: 3 systems" in shown.stdout


def test_filters_limit_and_the_check_exit_code(
    looked_at: Looked, fleet: dict[str, int], tmp_path: Path
) -> None:
    data_dir = ("--data-dir", str(looked_at.data_dir))
    only = run_lso("status", "--health", "unhealthy", "--prefix", "st-", *data_dir, cwd=tmp_path)
    assert only.returncode == 0 and list(rows(only.stdout)) == ["st-failing"], only.stdout
    checked = run_lso("status", "--prefix", "st-", "--check", *data_dir, cwd=tmp_path)
    assert checked.returncode == 3 and "st-failing" in checked.stdout
    fine = run_lso("status", "--prefix", "st-fi", "--check", *data_dir, cwd=tmp_path)
    assert fine.returncode == 0 and list(rows(fine.stdout)) == ["st-fine"]
    one = run_lso("status", "--prefix", "st-", "--limit", "1", *data_dir, cwd=tmp_path)
    assert list(rows(one.stdout)) == ["st-failing"] and "more: raise --limit" in one.stdout
    for bad in (("--health", "sick"), ("--limit", "0"), ("--interval", "0")):
        refused = run_lso("status", *bad, *data_dir, cwd=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr


def test_the_api_and_key_are_found_in_the_data_dir_or_given(
    looked_at: Looked, fleet: dict[str, int], tmp_path: Path
) -> None:
    recorded = json.loads((looked_at.data_dir / endpoint.API_RECORD).read_text())
    assert recorded == {"url": looked_at.url}
    (tmp_path / ".lso").symlink_to(looked_at.data_dir)  # ./.lso by default
    found = run_lso("status", "--prefix", "st-", cwd=tmp_path)
    assert found.returncode == 0 and len(rows(found.stdout)) == 3, found.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    given = run_lso("status", "--prefix", "st-", "--url", looked_at.url, "--key", looked_at.admin,
                    cwd=elsewhere)  # fmt: skip
    assert given.returncode == 0 and verdicts(given.stdout) == verdicts(found.stdout)
    by_env = run_lso("status", "--prefix", "st-", "--url", looked_at.url, cwd=elsewhere,
                     LSO_ADMIN_TOKEN=looked_at.admin)  # fmt: skip
    assert by_env.returncode == 0 and len(rows(by_env.stdout)) == 3


def test_a_wrong_or_missing_key_is_one_clear_line(looked_at: Looked, tmp_path: Path) -> None:
    data_dir = ("--data-dir", str(looked_at.data_dir))
    wrong = one_line_error(run_lso("status", "--key", "lso_a_wrong", *data_dir, cwd=tmp_path))
    assert f"the API at {looked_at.url} refused the key from --key (401" in wrong
    # The data dir's key goes to its own API only, never to an address given by hand.
    none = one_line_error(run_lso("status", "--url", looked_at.url, *data_dir, cwd=tmp_path))
    assert "refused the key from no key (pass --key KEY)" in none
    ingest = looked_at.ok("POST", "/systems", {"name": "st-keyed"})["ingest_key"]["token"]
    refused = one_line_error(run_lso("status", "--key", ingest, *data_dir, cwd=tmp_path))
    assert "may not GET /health (403" in refused


def test_nothing_running_is_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    missing = one_line_error(run_lso("status", "--data-dir", str(empty), cwd=tmp_path))
    assert f"no running `lso up` found in {empty}" in missing
    stale = tmp_path / "stale"
    endpoint.write_record(stale, "127.0.0.1", free_port())  # an `lso up` that was killed
    gone = one_line_error(run_lso("status", "--data-dir", str(stale), cwd=tmp_path))
    assert "cannot reach the API at http://127.0.0.1:" in gone and "Connection refused" in gone
    bad = one_line_error(run_lso("status", "--url", "localhost:8000", cwd=tmp_path))
    assert "--url must start with http://" in bad


def test_watch_redraws_in_place_until_ctrl_c(
    looked_at: Looked, fleet: dict[str, int], tmp_path: Path
) -> None:
    leader, follower = pty.openpty()  # a terminal: rich draws live only on one
    process = subprocess.Popen(
        [sys.executable, "-m", "lso.cli", "status", "--watch", "--interval", "0.5", "--prefix",
         "st-", "--data-dir", str(looked_at.data_dir)],
        stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, env=lso_env(),
    )  # fmt: skip
    os.close(follower)
    seen = bytearray()

    def drawn_twice() -> bool:
        while select.select([leader], [], [], 0.05)[0]:
            try:
                seen.extend(os.read(leader, 65536))
            except OSError:  # the terminal closed: the process ended
                break
        return seen.count(b"LSO at") >= 3

    try:
        wait_for(drawn_twice, 30, "three draws of the table")
        assert b"\x1b[1A" in seen and b"UNHEALTHY" in seen  # cursor up: redrawn in place
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    assert b"Traceback" not in seen


class OlderApi:
    """An API whose overview carries no figures: each row's are read from its health."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, path: str, **params: object) -> object:
        self.asked.append(path)
        if path == "/health":
            line = {"name": "x", "health": "OK", "reason": "r", "since": None}
            return {"systems": [{**line, "system_id": 1}, {**line, "system_id": 2}],
                    "next_cursor": "0.2"}  # fmt: skip
        if path == "/systems/2/health":
            raise ApiError("gone", 404)
        return {"last_event_at": None, "error_rate": 0.25, "p95_latency": 7.0, "total": 4}


def test_without_the_overviews_figures_each_row_reads_its_health() -> None:
    api = OlderApi()
    snapshot = status.fetch(api, None, None, 2)  # type: ignore[arg-type]
    assert sorted(api.asked) == ["/health", "/systems/1/health", "/systems/2/health"]
    assert snapshot.figures == {1: status.Figures(None, 0.25, 7.0, 4), 2: None}
    assert snapshot.more and not snapshot.unhealthy
