"""Floods of hostile or careless clients, run as their own process (`python -m tests.support.flood
KIND PORT ...`) so that their cost lands on the machine, not in the test's interpreter. Each kind
is bounded in time and ends by itself; it prints one JSON line of what it saw.

- `probe PORT SYSTEM_ID CONNECTIONS SECONDS`: keep-alive GETs of the health probe, no key.
- `slow PORT CONNECTIONS SECONDS`: request headers sent a byte every 0.5 s.
- `huge PORT CONNECTIONS MIB`: one unfinished header of MIB MiB per connection.
"""

import asyncio
import json
import sys
import time
from collections import Counter


async def _probe(port: int, system_id: int, seconds: float, statuses: Counter[int]) -> None:
    request = (f"GET /systems/{system_id}/health?probe=1 HTTP/1.1\r\nHost: lso\r\n\r\n").encode()
    end = time.monotonic() + seconds
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < end:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            statuses[int(head.split(b" ", 2)[1])] += 1
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
    except (OSError, asyncio.IncompleteReadError):
        statuses[0] += 1
    finally:
        writer.close()


async def _slow(port: int, seconds: float, closed: list[float]) -> None:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for byte in b"POST /systems/1/events HTTP/1.1\r\nHost: lso\r\nX-Slow: " + b"a" * 10_000:
            if time.monotonic() - started > seconds:
                return
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), 0.5) == b"":
                    break  # closed by the server
            except TimeoutError:
                continue
            break  # the server answered (408) and will close
        closed.append(time.monotonic() - started)
    except OSError:
        closed.append(time.monotonic() - started)
    finally:
        writer.close()


async def _huge(port: int, mib: int, refused: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /livez HTTP/1.1\r\nHost: lso\r\nX-Huge: ")
        chunk = b"a" * 65_536
        for _ in range(mib * 16):
            writer.write(chunk)
            await writer.drain()
        refused.append(0)  # all of it was taken: not refused
    except OSError:
        refused.append(1)
    finally:
        writer.close()


async def main(kind: str, args: list[str]) -> dict[str, object]:
    port = int(args[0])
    if kind == "probe":
        system_id, connections, seconds = int(args[1]), int(args[2]), float(args[3])
        statuses: Counter[int] = Counter()
        await asyncio.gather(*(_probe(port, system_id, seconds, statuses)
                               for _ in range(connections)))  # fmt: skip
        return {"statuses": dict(statuses)}
    if kind == "slow":
        connections, seconds = int(args[1]), float(args[2])
        closed: list[float] = []
        await asyncio.gather(*(_slow(port, seconds, closed) for _ in range(connections)))
        return {"closed": len(closed), "longest_s": max(closed, default=0.0)}
    connections, mib = int(args[1]), int(args[2])
    refused: list[int] = []
    await asyncio.gather(*(_huge(port, mib, refused) for _ in range(connections)))
    return {"refused": sum(refused), "connections": connections}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2:]))), flush=True)
