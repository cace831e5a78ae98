"""Slow clients on raw sockets, in a process of their own (not threads of what they measure):

    .venv/bin/python -m bench.floods --port 8000 --slow 200 --big 10 --duration 10

- `--slow N`: N connections that send a request's headers one byte every `--byte-interval`
  seconds and never finish them;
- `--big N`: N connections that send an unfinished header of `--big-bytes` (16 MiB) as fast as
  the server reads it.

A connection the server closes (408 past its header timeout, 431 past its header size) is opened
again after `--reopen-pause` seconds (`--big-reopen-pause` for the big ones: they stand for a few
clients with a huge header, not for a flood of 64 KiB ones), so the pressure lasts the whole
`--duration`; then every socket is closed and one JSON line is printed: connections opened,
answers by status line, connections closed by the server, bytes sent, connect errors.
"""

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator

_SLOW_HEAD = b"POST /systems/1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
_BIG_HEAD = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
_CHUNK = 64 * 1024


def _slow_bytes() -> Iterator[bytes]:
    """A request line and headers that never end, one byte at a time."""
    for i in range(len(_SLOW_HEAD)):
        yield _SLOW_HEAD[i : i + 1]
    while True:
        yield b"a"


class Flood:
    def __init__(self, port: int, deadline: float) -> None:
        self.port = port
        self.deadline = deadline
        self.counts: Counter[str] = Counter()

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    async def _open(
        self, pause_s: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            opened = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            self.counts["connect_errors"] += 1
            await asyncio.sleep(pause_s)
            return None
        self.counts["opened"] += 1
        return opened

    async def _answer(self, reader: asyncio.StreamReader) -> bool:
        """Waits for the server's status line (counted) or its close, until the deadline;
        whether the server answered or closed."""
        try:
            line = await asyncio.wait_for(reader.readline(), max(self._left(), 0.01))
        except TimeoutError:
            return False
        except OSError:
            return True
        status = line.split(b" ", 2)[1].decode(errors="replace") if line.count(b" ") else "none"
        self.counts[f"answered_{status}"] += 1
        return True

    async def slow(self, interval_s: float, pause_s: float) -> None:
        async def feed(writer: asyncio.StreamWriter, answered: "asyncio.Future[bool]") -> None:
            for byte in _slow_bytes():
                if answered.done() or self._left() <= 0:
                    break
                writer.write(byte)
                self.counts["bytes"] += 1
                await asyncio.sleep(interval_s)

        await self._connections(feed, pause_s)

    async def big(self, size: int, pause_s: float) -> None:
        async def feed(writer: asyncio.StreamWriter, answered: "asyncio.Future[bool]") -> None:
            sent = 0
            try:
                writer.write(_BIG_HEAD)
                while sent < size and not answered.done() and self._left() > 0:
                    writer.write(b"b" * min(_CHUNK, size - sent))
                    await asyncio.wait_for(writer.drain(), max(self._left(), 0.01))
                    sent += min(_CHUNK, size - sent)
                # Unfinished: hold the connection until the server gives up on it.
                await asyncio.wait({answered}, timeout=max(self._left(), 0.01))
            finally:
                self.counts["bytes"] += sent

        await self._connections(feed, pause_s)

    async def _connections(
        self,
        feed: "Callable[[asyncio.StreamWriter, asyncio.Future[bool]], Awaitable[None]]",
        pause_s: float,
    ) -> None:
        """Open a connection, `feed` it until it is answered or time is up, again and again."""
        while self._left() > 0:
            opened = await self._open(pause_s)
            if opened is None:
                continue
            reader, writer = opened
            answered = asyncio.ensure_future(self._answer(reader))
            with contextlib.suppress(OSError, TimeoutError):
                await feed(writer, answered)
            await self._close(writer, answered, pause_s)

    async def _close(
        self, writer: asyncio.StreamWriter, answered: "asyncio.Future[bool]", pause_s: float
    ) -> None:
        if answered.done() and answered.result():
            self.counts["closed_by_server"] += 1
        answered.cancel()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        if self._left() > 0:
            await asyncio.sleep(pause_s)


async def flood(args: argparse.Namespace) -> dict[str, int]:
    f = Flood(args.port, time.monotonic() + args.duration)
    tasks = [f.slow(args.byte_interval, args.reopen_pause) for _ in range(args.slow)]
    tasks += [f.big(args.big_bytes, args.big_reopen_pause) for _ in range(args.big)]
    await asyncio.gather(*tasks)
    return dict(f.counts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.floods", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True, help="API port on 127.0.0.1")
    p.add_argument("--slow", type=int, default=200, help="byte-at-a-time connections")
    p.add_argument("--big", type=int, default=10, help="connections with a huge header")
    p.add_argument("--big-bytes", type=int, default=16 * 2**20, help="size of that header")
    p.add_argument("--byte-interval", type=float, default=0.2, help="s between two bytes")
    p.add_argument("--reopen-pause", type=float, default=0.1, help="s before reconnecting")
    p.add_argument("--big-reopen-pause", type=float, default=1.0, help="the same, big ones")
    p.add_argument("--duration", type=float, required=True, help="s of flood, then stop")
    args = p.parse_args(argv)
    print(json.dumps(asyncio.run(flood(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
