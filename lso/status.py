"""`lso status`: the fleet overview as a table in the terminal, worst first; `--watch` keeps it
current in place.

One row per system of `GET /health` (its `health`, `prefix` and `limit` filters): the verdict in
its colour, since when it holds, the last event, the error rate and p95 latency over the system's
health window, and the reason. The figures come with the overview (`figures=true`); from an API
whose overview does not carry them, from `GET /systems/{id}/health` of each row shown.

Exit codes: 0 the table was shown; 1 no API, or it refused the key or the request; 2 bad
arguments; 3 with `--check`, when a system shown is UNHEALTHY (for scripts and cron).
"""

import argparse
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lso import endpoint
from lso.api_client import ApiClient, ApiError
from lso.show import ago, api_options, latency, rate, verdict_text

VERDICTS = ("OK", "DEGRADED", "UNHEALTHY", "NO_DATA")
MAX_LIMIT = 500  # the overview adds figures to at most 500 lines (fleet_figures.MAX_SYSTEMS)
DETAIL_THREADS = 4
FIGURES = ("last_event_at", "error_rate", "p95_latency", "total")  # of an overview's line
EXIT_UNHEALTHY = 3

if TYPE_CHECKING:  # rich is imported when used: the other `lso` commands start without it
    from rich.console import Console, RenderableType
    from rich.table import Table


@dataclass(frozen=True)
class Figures:
    last_event_at: str | None
    error_rate: float | None
    p95_latency: float | None
    total: int | None = None  # None: unknown (the overview's figures do not say)


@dataclass(frozen=True)
class Snapshot:
    lines: list[dict[str, Any]]
    figures: dict[int, Figures | None]  # None: could not be read (deleted meanwhile, ...)
    more: bool  # systems beyond the limit
    at: datetime

    @property
    def unhealthy(self) -> bool:
        return any(line["health"] == "UNHEALTHY" for line in self.lines)


def fetch(client: ApiClient, health: str | None, prefix: str | None, limit: int) -> Snapshot:
    """One overview page and the figures of its rows."""
    page = client.get("/health", health=health, prefix=prefix, limit=limit, figures="true")
    lines: list[dict[str, Any]] = page["systems"]
    figures: dict[int, Figures | None] = {}
    missing = []
    for line in lines:
        if not all(name in line for name in FIGURES):
            missing.append(line["system_id"])  # an API without the overview's figures
        elif line.get("window_seconds") is None:
            figures[line["system_id"]] = None  # deleted meanwhile, or its policy in conflict
        else:
            figures[line["system_id"]] = Figures(*(line[name] for name in FIGURES))
    if missing:
        with ThreadPoolExecutor(DETAIL_THREADS) as pool:
            for system_id, found in zip(
                missing, pool.map(lambda sid: _health(client, sid), missing), strict=True
            ):
                figures[system_id] = found
    return Snapshot(lines, figures, page.get("next_cursor") is not None, datetime.now(UTC))


def _health(client: ApiClient, system_id: int) -> Figures | None:
    try:
        h = client.get(f"/systems/{system_id}/health")
    except ApiError:
        return None  # one row without figures; the overview itself answered
    return Figures(h["last_event_at"], h["error_rate"], h["p95_latency"], h["total"])


def table(snapshot: Snapshot, url: str) -> "Table":
    from rich.table import Table
    from rich.text import Text

    shown = len(snapshot.lines)
    title = f"LSO at {url}: {shown} system{'s' if shown != 1 else ''}, worst first"
    if snapshot.more:
        title += " (more: raise --limit or filter)"
    t = Table(title=title, title_justify="left", caption_justify="left", expand=False)
    t.caption = (
        f"at {snapshot.at.astimezone():%H:%M:%S}; error rate and p95 over each system's window"
    )
    # The short columns never wrap; a narrow terminal folds the name and the reason instead.
    t.add_column("ID", justify="right", no_wrap=True)
    t.add_column("SYSTEM", overflow="fold")
    t.add_column("HEALTH", no_wrap=True)
    for name in ("SINCE", "LAST EVENT", "ERRORS", "P95"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("REASON", overflow="fold")
    for line in snapshot.lines:
        f = snapshot.figures.get(line["system_id"])
        quiet = f is not None and f.total == 0  # no events in the window: no rate, no p95
        t.add_row(
            str(line["system_id"]),
            Text(line["name"]),
            verdict_text(line["health"]),
            ago(line.get("since"), snapshot.at),
            "?" if f is None else ago(f.last_event_at, snapshot.at, never="never"),
            "?" if f is None else "-" if quiet else rate(f.error_rate),
            "?" if f is None else "-" if quiet else latency(f.p95_latency),
            Text(line["reason"]),
        )
    return t


def run(args: argparse.Namespace) -> int:
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    target = endpoint.find(args.url, args.key, Path(args.data_dir))
    client = ApiClient(target)
    health: str | None = args.health
    console = _console()
    snapshot = fetch(client, health, args.prefix, args.limit)  # a first failure ends the command
    if not args.watch:
        console.print(table(snapshot, target.url))
        return _code(snapshot, args.check)
    view: RenderableType = table(snapshot, target.url)
    try:
        with Live(view, console=console, auto_refresh=False) as live:
            while True:
                time.sleep(args.interval)
                try:
                    snapshot = fetch(client, health, args.prefix, args.limit)
                    view = table(snapshot, target.url)
                except ApiError as exc:
                    # Keep the last table and say why it is not current; keep trying.
                    view = Group(view, Text(f"lso: {exc}", style="bold red"))
                live.update(view, refresh=True)
    except KeyboardInterrupt:
        return _code(snapshot, args.check)


def _code(snapshot: Snapshot, check: bool) -> int:
    return EXIT_UNHEALTHY if check and snapshot.unhealthy else 0


def _console() -> "Console":
    from rich.console import Console

    # Piped or captured, rich would cut the table at 80 columns: give it room (COLUMNS wins).
    width = None if sys.stdout.isatty() else shutil.get_terminal_size((160, 24)).columns
    return Console(width=width, highlight=False)


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_LIMIT}")
    return value


def _interval(text: str) -> float:
    value = float(text)
    if not 0.5 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be 0.5 to 3600 seconds")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="the fleet's health as a table (worst first); --watch keeps it current",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    api_options(p)
    p.add_argument(
        "--health",
        type=str.upper,
        choices=VERDICTS,
        help="only systems of this verdict",
    )
    p.add_argument("--prefix", help="only systems whose name starts so")
    p.add_argument(
        "--limit", type=_limit, default=50, help=f"at most this many rows (1-{MAX_LIMIT})"
    )
    p.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    p.add_argument(
        "--interval", type=_interval, default=2.0, help="seconds between refreshes (--watch)"
    )
    p.add_argument(
        "--check", action="store_true", help=f"exit {EXIT_UNHEALTHY} when a system is UNHEALTHY"
    )
    p.set_defaults(run=run)
