"""`lso tail SYSTEM`: a system's newest raw events, then each new one as it comes, until Ctrl-C
(exit 0); `--errors` shows errors only. SYSTEM is an id or a name.

It polls `GET /systems/{id}/events` (newest first, by event time) for what is newer than the
newest event seen, less LATE_S: events stamped a little earlier than the newest one (a second
client, a slow batch) still show. What was printed is remembered over that span, so nothing shows
twice; an event stamped more than LATE_S before the newest seen is not shown. A busy system shows
at most MAX_PER_POLL events a poll and says when it skipped some.
"""

import argparse
import json
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lso import endpoint
from lso.api_client import ApiClient, ApiError
from lso.show import api_options, parse_time

LATE_S = 10.0
PAGE = 1000
MAX_PER_POLL = 5 * PAGE
PAYLOAD_CHARS = 300
EVENT_TIME_AHEAD = timedelta(days=1)  # events stamped ahead of our clock are listed too

Event = dict[str, Any]

if TYPE_CHECKING:  # rich is imported when used: the other `lso` commands start without it
    from rich.text import Text


def _ms(event: Event) -> int:
    return int(parse_time(event["ts"]).timestamp() * 1000)


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _fingerprint(event: Event) -> str:
    return json.dumps(event, sort_keys=True)


def resolve(client: ApiClient, system: str) -> tuple[int, str]:
    """(id, name) of the system named or numbered `system`."""
    if system.isdigit():
        try:
            found = client.get(f"/systems/{int(system)}")
            return int(found["system_id"]), str(found["name"])
        except ApiError as exc:
            if exc.status != 404:
                raise  # else a name made of digits, perhaps
    try:
        found = client.get(f"/systems/by-name/{urllib.parse.quote(system, safe='')}")
    except ApiError as exc:
        if exc.status in (404, 422):
            raise ApiError(f"no system {system!r} that this key may read", exc.status) from None
        raise
    return int(found["system_id"]), str(found["name"])


class Follower:
    """The new events of one system, each once (see the module's docstring)."""

    def __init__(self, client: ApiClient, system_id: int, errors_only: bool) -> None:
        self._client = client
        self._path = f"/systems/{system_id}/events"
        self._status = "error" if errors_only else None
        self._seen: Counter[str] = Counter()
        self._seen_ms: dict[str, int] = {}
        self._top_ms = time.time() * 1000  # the newest event seen (at first: now)
        self._floor_ms = 0.0  # never below: what a capped poll skipped stays skipped
        self.skipped = 0  # events a capped poll could not show

    def recent(self, n: int) -> list[Event]:
        """The newest `n` events, oldest first; what else lies in the span is marked seen."""
        events: list[Event] = []
        if n > 0:
            # `since` too: it defaults to an hour before `until`.
            events = self._client.get(self._path, limit=n, status=self._status, since=_iso(0),
                                      until=self._until())["events"]  # fmt: skip
        if events:
            self._top_ms = _ms(events[0])
        shown = Counter(_fingerprint(e) for e in events)
        extra = []
        for event in self._window(self._since_ms())[0]:
            fp = _fingerprint(event)
            self._remember(event, fp)
            if shown[fp] > 0:
                shown[fp] -= 1
            elif events and _ms(event) >= _ms(events[-1]):
                extra.append(event)  # came between the two reads: new, not old
        return sorted(events[::-1] + extra[::-1], key=_ms)

    def new(self) -> list[Event]:
        """The events not shown yet, oldest first."""
        since_ms = self._since_ms()
        listed, complete = self._window(since_ms)
        counts = Counter(_fingerprint(e) for e in listed)
        fresh = []
        for event in reversed(listed):  # oldest first
            fp = _fingerprint(event)
            if self._seen[fp] < counts[fp]:
                self._remember(event, fp)
                fresh.append(event)
        if listed:
            self._top_ms = max(self._top_ms, _ms(listed[0]))
        if not complete:
            self._floor_ms = _ms(listed[-1])
            self.skipped += 1
        self._forget_before(since_ms)
        return fresh

    def _since_ms(self) -> float:
        # Not ahead of our clock: one event stamped in the future must not hide the others.
        return max(self._floor_ms, min(self._top_ms, time.time() * 1000) - LATE_S * 1000)

    def _until(self) -> str:
        return _iso((datetime.now(UTC) + EVENT_TIME_AHEAD).timestamp() * 1000)

    def _window(self, since_ms: float) -> tuple[list[Event], bool]:
        """Events from `since_ms` on, newest first (at most MAX_PER_POLL); True when all."""
        found: list[Event] = []
        cursor = None
        while len(found) < MAX_PER_POLL:
            page = self._client.get(self._path, since=_iso(since_ms), until=self._until(),
                                    status=self._status, limit=PAGE, cursor=cursor)  # fmt: skip
            found += page["events"]
            cursor = page["next_cursor"]
            if cursor is None:
                return found, True
        return found, False

    def _remember(self, event: Event, fp: str | None = None) -> None:
        fp = fp or _fingerprint(event)
        self._seen[fp] += 1
        self._seen_ms[fp] = _ms(event)

    def _forget_before(self, since_ms: float) -> None:
        for fp in [fp for fp, ms in self._seen_ms.items() if ms < since_ms]:
            del self._seen[fp], self._seen_ms[fp]


def line(event: Event) -> "Text":
    """One event on one line: time, status, type, latency, stage, run, payload."""
    from rich.text import Text

    error = event["status"] == "error"
    text = Text.assemble(
        (parse_time(event["ts"]).astimezone().isoformat(timespec="milliseconds"), "dim"), "  ",
        ("ERROR" if error else "ok   ", "bold red" if error else "green"), "  ",
        (event["event_type"], "bold"), f"  {event['latency_ms']:g} ms",
    )  # fmt: skip
    for label, value in (("stage", event.get("stage")), ("run", event.get("run_id"))):
        if value:
            text.append(f"  {label}={value}")
    if event.get("payload") is not None:
        payload = json.dumps(event["payload"], ensure_ascii=False, separators=(",", ":"))
        if len(payload) > PAYLOAD_CHARS:
            payload = payload[: PAYLOAD_CHARS - 1] + "…"
        text.append("  " + payload, style="red" if error else "")
    return text


def follow(follower: Follower, interval_s: float) -> Iterator["Text"]:
    """Lines to print, forever: new events, and what went wrong meanwhile (the API away)."""
    from rich.text import Text

    away: str | None = None
    skipped = 0
    while True:
        time.sleep(interval_s)
        try:
            events = follower.new()
        except ApiError as exc:
            if not exc.transient:
                raise
            if away != str(exc):
                away = str(exc)
                yield Text(f"lso: {exc}; retrying", style="bold yellow")
            continue
        if away is not None:
            away = None
            yield Text("lso: the API answers again", style="bold yellow")
        if follower.skipped > skipped:
            skipped = follower.skipped
            yield Text(f"lso: more than {MAX_PER_POLL} events since the last poll: older ones "
                       "skipped (--errors shows fewer)", style="bold yellow")  # fmt: skip
        yield from (line(event) for event in events)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    client = ApiClient(endpoint.find(args.url, args.key, Path(args.data_dir)))
    system_id, name = resolve(client, args.system)
    follower = Follower(client, system_id, args.errors)
    console = Console(highlight=False, soft_wrap=True)
    what = "errors" if args.errors else "events"
    console.print(Text(f"{what} of {name} (system {system_id}); Ctrl-C to stop", style="dim"))
    try:
        for event in follower.recent(args.lines):
            console.print(line(event))
        sys.stdout.flush()
        for text in follow(follower, args.interval):
            console.print(text)
            sys.stdout.flush()  # piped (`| grep`), each line as it comes
    except KeyboardInterrupt:
        pass
    return 0


def _interval(text: str) -> float:
    value = float(text)
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be 0.1 to 3600 seconds")
    return value


def _lines(text: str) -> int:
    value = int(text)
    if not 0 <= value <= PAGE:
        raise argparse.ArgumentTypeError(f"must be 0 to {PAGE}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "tail",
        help="a system's newest events, then each new one as it comes (Ctrl-C stops)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("system", help="the system's id or name")
    api_options(p)
    p.add_argument("--errors", action="store_true", help="errors only")
    p.add_argument("--lines", type=_lines, default=10, help="newest events shown first (0-1000)")
    p.add_argument("--interval", type=_interval, default=1.0, help="seconds between polls")
    p.set_defaults(run=run)
