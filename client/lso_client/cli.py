"""`lso-run --system orders-etl -- ./nightly.sh`: run a command as one run of a system.

Reports `run_start`, then after the command one counted `run` event (error iff the exit status is
not 0; latency its duration; payload `{"exit_status", "command"}`), then `run_end`; waits up to
`--timeout-s` for LSO to take them, and exits with the command's status (128+N when a signal N
ended it). LSO being unreachable changes nothing but a warning on stderr."""

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from lso_client.client import LSOClient

# The shell's statuses for a command that cannot be run.
NOT_FOUND, NOT_EXECUTABLE = 127, 126
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lso-run",
        description="Run a command and report it to LSO as one run (start, end, exit status, "
        "duration); exits with the command's status.",
        epilog="LSO_URL and LSO_KEY name the server and the key when --url / --key are not given.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--system", help="the system's name (looked up, or registered)")
    which.add_argument("--system-id", type=int, help="the system's id")
    p.add_argument("--run-id", help="the run's id (default: a fresh one)")
    p.add_argument("--url", help="LSO's base URL (default: $LSO_URL, else http://localhost:8000)")
    p.add_argument("--key", help="an API key (default: $LSO_KEY; prefer it: argv is public)")
    p.add_argument("--timeout-s", type=float, default=10.0,
                   help="how long to wait for LSO to take the report at the end (10)")  # fmt: skip
    p.add_argument(
        "command", nargs=argparse.REMAINDER, help="-- then the command and its arguments"
    )
    return p


def exit_status(returncode: int) -> int:
    """A shell's exit status for a child's return code (negative: killed by that signal)."""
    return 128 - returncode if returncode < 0 else returncode


def run_command(argv: Sequence[str]) -> int:
    """Run `argv` to its end; its exit status. Ctrl-C reaches the command through the terminal
    (this process waits for it instead of dying first); other signals are passed on to it."""
    try:
        child = subprocess.Popen(argv)
    except FileNotFoundError:
        print(f"lso-run: {argv[0]}: command not found", file=sys.stderr)
        return NOT_FOUND
    except PermissionError:
        print(f"lso-run: {argv[0]}: permission denied", file=sys.stderr)
        return NOT_EXECUTABLE

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return exit_status(child.wait())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser().error("no command given (lso-run --system NAME -- COMMAND [ARG...])")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # they say "lso-client: "
    system = args.system_id if args.system is None else args.system
    client = LSOClient(args.url, args.key, exit_timeout_s=0.0)
    run = client.run(system, args.run_id).start()
    status = run_command(command)
    payload = {"exit_status": status, "command": os.path.basename(command[0])}
    run.finish(status="error" if status else "ok", payload=payload)
    if not client.close(args.timeout_s):
        print(f"lso-run: the run was not reported to LSO at {client.config.url} "
              f"within {args.timeout_s:g} s", file=sys.stderr)  # fmt: skip
    elif client.rejected or client.unresolved:
        print(f"lso-run: LSO at {client.config.url} refused the run's events "
              f"(see above)", file=sys.stderr)  # fmt: skip
    return status
