"""The `lso` command: `lso up` (everything), and its parts: `lso api`, `lso worker`, `lso jobs`;
`lso partitions` shows or changes the partition layout; `lso status` and `lso tail` look at the
fleet and at one system from the terminal.

`api`, `worker`, `jobs` and `partitions` use the store of the `lso up` running on --data-dir
(default ./.lso), or LSO_REDIS_URL when it is set; `status` and `tail` use its API and admin key
(lso/endpoint.py), or --url and --key."""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from lso import local, status, tail
from lso.api_client import ApiError
from lso.endpoint import EndpointError
from shared.logs import configure
from shared.settings import get_settings

log = logging.getLogger("lso")


def _up(args: argparse.Namespace) -> int:
    from lso.supervisor import Supervisor, UpOptions

    options = UpOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        api_processes=args.api_processes,
        job_processes=args.job_processes,
        data_dir=Path(args.data_dir),
        cluster_masters=args.cluster,
        grace_s=get_settings().shutdown_grace_s,
    )
    return Supervisor(options).run()


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    store = local.find(Path(args.data_dir))
    if store.record is not None:
        # uvicorn's worker processes may be fresh interpreters, which read their settings from
        # the environment only: the store found is handed to them (and to this one) there.
        os.environ["LSO_REDIS_URL"] = store.settings.redis_url
        os.environ["LSO_REDIS_CLUSTER"] = "1" if store.settings.redis_cluster else "0"
        get_settings.cache_clear()
    from api.server import GuardedHttpToolsProtocol

    settings = get_settings()
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.processes,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: any local client
        # could then pick its address (and dodge or aim the failed-authentication throttle).
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or [],
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from worker.consumer import Worker, is_alive, quiet_collector

    store = local.find(Path(args.data_dir))
    settings = store.settings
    # Only at start: once running, the worker rides out an outage with backoff.
    client = local.connect(store)
    if args.check:
        with local.reaching(store):
            alive = is_alive(client, settings)
        print("worker alive" if alive else "no live worker on this host")
        return 0 if alive else 1
    with local.reaching(store):
        worker = Worker(client, settings, burst=args.burst)
    quiet_collector()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if worker.stopping:
            log.warning("second signal: exiting now; pending entries will be reclaimed")
            os._exit(1)
        log.info(
            "stopping: finishing the entries in hand (grace %.0f s)", settings.shutdown_grace_s
        )
        worker.stop()
        timer = threading.Timer(settings.shutdown_grace_s, os._exit, (1,))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    worker.run()
    return 0


def _jobs(args: argparse.Namespace) -> int:
    store = local.find(Path(args.data_dir))
    local.connect(store).close()

    from worker.jobs import context
    from worker.jobs.runner import run

    context.configure(store.settings)
    with local.reaching(store):
        return run(burst=args.burst)


def _partitions(args: argparse.Namespace) -> int:
    from shared.store import layout

    if args.count is not None and args.count < 1:
        print("lso: the number of partitions must be at least 1", file=sys.stderr)
        return 2
    store = local.find(Path(args.data_dir))
    count = store.settings.partitions if args.count is None else args.count
    client = local.connect(store)
    with local.reaching(store):
        current = layout.load_sync(client, count, change=args.count is not None)
    client.close()
    for first, n in current.epochs:
        print(f"systems from id {first}: {n} partition(s)")
    print(f"ingest streams: {current.streams}; systems registered: {current.registered}")
    return 0


def _data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        default=local.DEFAULT_DATA_DIR,
        help="data dir of the local `lso up` whose store to use (LSO_REDIS_URL overrides it)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lso", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the store (embedded by default), the API and workers")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--workers", type=int, default=2, help="stream worker processes")
    up.add_argument("--api-processes", type=int, default=1, help="uvicorn worker processes")
    up.add_argument(
        "--job-processes", type=int, default=2, help="`lso jobs` processes (notifications etc.)"
    )
    up.add_argument(
        "--data-dir", default=local.DEFAULT_DATA_DIR, help="embedded store's data directory"
    )
    up.add_argument(
        "--cluster",
        type=int,
        default=0,
        metavar="N",
        help="embed a cluster of N masters instead of one server (LSO_REDIS_CLUSTER is set)",
    )
    up.set_defaults(run=_up)

    api = sub.add_parser("api", help="run the HTTP API")
    _data_dir(api)
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--processes", type=int, default=1, help="uvicorn worker processes")
    api.set_defaults(run=_api)

    worker = sub.add_parser("worker", help="run one stream worker")
    _data_dir(worker)
    worker.add_argument("--burst", action="store_true", help="drain what is there, then exit")
    worker.add_argument(
        "--check", action="store_true", help="exit 0 if a worker on this host is alive, else 1"
    )
    worker.set_defaults(run=_worker)

    jobs = sub.add_parser(
        "jobs", help="run one background-jobs worker: evaluation, notifications, retention"
    )
    _data_dir(jobs)
    jobs.add_argument("--burst", action="store_true", help="run what is queued, then exit")
    jobs.set_defaults(run=_jobs)

    partitions = sub.add_parser(
        "partitions",
        help="show the partition layout, or give systems registered from now on N partitions",
    )
    _data_dir(partitions)
    partitions.add_argument("count", type=int, nargs="?", help="partitions of new systems")
    partitions.set_defaults(run=_partitions)

    status.add_parser(sub)
    tail.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    configure(get_settings().log_level)
    try:
        code = args.run(args)
    except (local.StoreError, EndpointError, ApiError) as exc:
        print(f"lso: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:  # before a command's own handling (`status --watch`, `tail`)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
