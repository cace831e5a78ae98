"""A throw-away store for the micro benchmarks, and batches appended exactly as the API does."""

import random
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import redis.cluster

from lso.embedded import binary_path, free_port
from shared.model.codec import encode_batch
from shared.store import keys


@contextmanager
def scratch_store() -> Iterator[tuple[str, redis.Redis]]:
    """(url, client) of a fresh Valkey (the embedded binary, no persistence), stopped after."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = subprocess.Popen(
            [str(binary_path()), "--port", str(port), "--save", "", "--dir", data_dir],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, protocol=3)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield url, client
        finally:
            client.close()
            server.terminate()
            server.wait(10)


STAGES = ("extract", "transform", "load")


def fill(
    client: redis.Redis | redis.cluster.RedisCluster,
    batches: int,
    size: int,
    spread_ms: int,
    run_id: str | None = None,
    system_id: int = 1,
    burst_ms: int | None = None,
    payload: dict[str, object] | None = None,
    partition: int = 0,
    realistic: bool = False,
) -> None:
    """Append batches of `system_id` (to `partition`): ts spread over `spread_ms` before now (with
    `burst_ms`, each batch's events lie within that much before a time spread so), lognormal
    latencies, 5 % errors; one stream entry per batch, counted in `events_in`, as the API does.

    `realistic`: as pipelines report (issue 18): each batch a 2-s burst, one of three stages per
    event, a run id per batch (7 runs in turn), a ~30-byte payload, a unique event id on half of
    the events."""
    rng = random.Random(1)
    now_ms = int(time.time() * 1000)
    if realistic:
        burst_ms = 2000
    salt = f"{time.time_ns():x}"  # ids unique across calls too: a repeat would be a duplicate
    for b in range(batches):
        if burst_ms is None:
            base, width = now_ms, spread_ms
        else:
            base, width = now_ms - rng.randrange(spread_ms + 1), burst_ms
        if realistic:
            rows = [
                [base - rng.randrange(width + 1), int(rng.random() < 0.05),
                 round(rng.lognormvariate(3, 1), 2), "load", STAGES[i % 3],
                 f"run-{system_id}-{b % 7}", f"{salt}-{b}-{i}" if i % 2 == 0 else None,
                 {"table": "orders", "rows": rng.randrange(10_000)}]
                for i in range(size)
            ]  # fmt: skip
        else:
            rows = [
                [base - rng.randrange(width + 1), int(rng.random() < 0.05),
                 round(rng.lognormvariate(3, 1), 2), "load", "transform", run_id, None, payload]
                for _ in range(size)
            ]  # fmt: skip
        pipe = client.pipeline(transaction=True)
        pipe.xadd(keys.stream(partition), encode_batch(system_id, rows))  # type: ignore[arg-type]
        pipe.hincrby(keys.partition_stats(partition), "events_in", size)
        pipe.execute()
