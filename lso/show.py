"""What the terminal commands share: the options that find the API, and how verdicts, times,
rates and latencies are written."""

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from lso import local

if TYPE_CHECKING:  # rich is imported when used: the other `lso` commands start without it
    from rich.text import Text

COLOURS = {"OK": "green", "DEGRADED": "yellow", "UNHEALTHY": "bold red", "NO_DATA": "dim"}


def api_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="the API to ask (default: the `lso up` running on --data-dir)")
    p.add_argument(
        "--key",
        help="API key (default: LSO_ADMIN_TOKEN, else the admin key of the `lso up` on --data-dir)",
    )
    p.add_argument(
        "--data-dir",
        default=local.DEFAULT_DATA_DIR,
        help="data dir of the local `lso up` whose API and admin key to use",
    )


def verdict_text(verdict: str) -> "Text":
    from rich.text import Text

    return Text(verdict, style=COLOURS.get(verdict, ""))


def parse_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def ago(iso: str | None, now: datetime, never: str = "-") -> str:
    """`iso` as an age: "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "in 4 s" ahead of now."""
    if iso is None:
        return never
    seconds = (now - parse_time(iso)).total_seconds()
    ahead, seconds = seconds < -0.5, abs(seconds)
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            break
    else:
        amount = f"{int(seconds)} s"
    return f"in {amount}" if ahead else f"{amount} ago"


def rate(fraction: float | None) -> str:
    if fraction is None:
        return "-"
    return f"{fraction * 100:.1f} %" if fraction < 0.9995 else "100 %"


def latency(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s" if ms < 60_000 else f"{ms / 60_000:.1f} min"
