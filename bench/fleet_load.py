"""The fleet's steady load, in a process of its own (not a thread of what it measures):

    .venv/bin/python -m bench.fleet_load --port 8000 --plan plan.json --out result.json

`plan.json`: {"ids": [...], "period_s": 10, "connections": 32, "once": false, "silent": [...],
"failing": [...]}. Each system of `ids` gets one 10-event batch every `period_s` (all `ok`,
stamped with the time it is built), the systems spread evenly over the period; `connections`
keep-alive connections on raw sockets send them, each request waiting for the previous answer on
its connection. With `once`, every system gets one batch and the process exits.

SIGUSR1 is the change: from then on the `silent` systems send nothing, and the `failing` ones
send one batch of FLIP_EVENTS `error` events (enough to outweigh every ok event of their window),
then 10-event error batches on their usual beat. SIGTERM (or the end of `once`) stops it: the
batches in flight are answered, then `--out` gets one JSON object: answers by status, the first
non-202 answer, how far sending fell behind its schedule at worst, the silent systems' last
accepted event time and the failing systems' flip time (Unix seconds, as stamped in the events).
`SteadyLoad` is the benchmark's handle on that process.

Its own cost is part of the report: bench/fleet.py reads its CPU like the stack's (`load`).
"""

import argparse
import asyncio
import json
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.procs import spawn, stop

if TYPE_CHECKING:
    from bench.run import Bench

BATCH_EVENTS = 10
FLIP_EVENTS = 1000
_EVENT_TYPES = (b"extract", b"transform", b"load", b"publish")


def _ts(now_s: float) -> bytes:
    ms = int(now_s * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_s)).encode() + b".%03dZ" % ms


def batch_body(now_s: float, events: int, status: bytes) -> bytes:
    """A native batch of `events` events of one status, stamped `now_s`."""
    ts = _ts(now_s)
    parts = [
        b'{"ts":"%s","event_type":"%s","status":"%s","latency_ms":%d}'
        % (ts, _EVENT_TYPES[i % 4], status, 5 + i * 37 % 50)
        for i in range(events)
    ]
    return b'{"events":[' + b",".join(parts) + b"]}"


class Load:
    def __init__(self, port: int, plan: dict[str, Any]) -> None:
        self.port = port
        self.ids: list[int] = plan["ids"]
        self.period_s = float(plan["period_s"])
        self.connections = int(plan["connections"])
        self.once = bool(plan.get("once", False))
        self.silent = set(plan.get("silent", []))
        self.failing = set(plan.get("failing", []))
        self.changed_at: float | None = None
        self.flipped: dict[int, float] = {}
        self.last_ok: dict[int, float] = {}
        self.statuses: Counter[int] = Counter()
        self.first_bad = ""
        self.sent = 0
        self.max_lag_s = 0.0
        self.stopping = asyncio.Event()
        self.queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=4 * self.connections)

    def change(self) -> None:
        if self.changed_at is None:
            self.changed_at = time.time()

    async def schedule(self) -> None:
        """Put each system's turn in the queue at its time: system i at i/N of every period."""
        start = time.monotonic()
        step_s = self.period_s / len(self.ids)
        turn = 0
        while not self.stopping.is_set():
            due = start + turn * step_s
            wait_s = due - time.monotonic()
            if wait_s > 0:
                # Pacing, not correctness: the turns are sent in order whatever the sleep does.
                await asyncio.sleep(wait_s)
            else:
                self.max_lag_s = max(self.max_lag_s, -wait_s)
            sid = self.ids[turn % len(self.ids)]
            turn += 1
            if self.changed_at is not None and sid in self.silent:
                continue
            await self.queue.put(sid)
            if self.once and turn == len(self.ids):
                break
        for _ in range(self.connections):
            await self.queue.put(None)

    def request(self, sid: int) -> tuple[bytes, float, bool]:
        now_s = time.time()
        flip = self.changed_at is not None and sid in self.failing and sid not in self.flipped
        if flip:
            self.flipped[sid] = now_s
        if self.changed_at is not None and sid in self.failing:
            body = batch_body(now_s, FLIP_EVENTS if flip else BATCH_EVENTS, b"error")
        else:
            body = batch_body(now_s, BATCH_EVENTS, b"ok")
        head = (
            b"POST /systems/%d/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (sid, len(body))
        )
        return head + body, now_s, sid in self.silent

    async def connection(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            while (sid := await self.queue.get()) is not None:
                raw, stamped_s, silent = self.request(sid)
                writer.write(raw)
                status, body = await _answer(reader)
                self.sent += 1
                self.statuses[status] += 1
                if status == 202 and silent:
                    self.last_ok[sid] = max(self.last_ok.get(sid, 0.0), stamped_s)
                elif status != 202 and not self.first_bad:
                    self.first_bad = f"{status} {body[:300].decode(errors='replace')}"
        finally:
            writer.close()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.change)
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        await asyncio.gather(self.schedule(), *(self.connection() for _ in range(self.connections)))

    def result(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "sent": self.sent,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "first_bad": self.first_bad,
            "max_lag_s": round(self.max_lag_s, 3),
            "changed_at": self.changed_at,
            "silent_last_ok": {str(k): v for k, v in self.last_ok.items()},
            "failing_flipped": {str(k): v for k, v in self.flipped.items()},
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer with a Content-Length (as uvicorn sends them)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


class SteadyLoad:
    """This module's process with `plan`, started on entering the block; `change()` is the
    switch of the silent and failing systems, `stop()` (or `wait()` for a `once` plan) ends it
    and returns its result. Leaving the block stops it if it still runs."""

    def __init__(self, bench: "Bench", plan: dict[str, Any]) -> None:
        self._dir = bench.work_dir
        self._plan = self._dir / "fleet-plan.json"
        self._plan.write_text(json.dumps(plan))
        self._out = self._dir / "fleet-load.json"
        self._out.unlink(missing_ok=True)
        self._port = bench.stack.port
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "SteadyLoad":
        argv = [sys.executable, "-m", "bench.fleet_load", "--port", str(self._port),
                "--plan", str(self._plan), "--out", str(self._out)]  # fmt: skip
        self._proc = spawn(argv, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            stop(self._proc, "bench.fleet_load", grace_s=10)

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def change(self) -> None:
        assert self._proc is not None, "not started"
        self._proc.send_signal(signal.SIGUSR1)

    def stop(self) -> dict[str, Any]:
        assert self._proc is not None, "not started"
        self._proc.terminate()
        return self.wait(timeout_s=30)

    def wait(self, timeout_s: float) -> dict[str, Any]:
        assert self._proc is not None, "not started"
        _, err = self._proc.communicate(timeout=timeout_s)
        if self._proc.returncode != 0:
            raise RuntimeError(
                f"bench.fleet_load exited with {self._proc.returncode}: {err.decode()[-2000:]}"
            )
        result: dict[str, Any] = json.loads(self._out.read_text())
        return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fleet_load", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    load = Load(args.port, json.loads(args.plan.read_text()))
    asyncio.run(load.run())
    args.out.write_text(json.dumps(load.result()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
