"""Child processes of the benchmark: own session (a terminal's Ctrl-C reaches only the benchmark,
which then stops them in order) and SIGTERM on the benchmark's death (Linux PR_SET_PDEATHSIG), so
none is left behind even if the benchmark is killed with SIGKILL."""

import ctypes
import ctypes.util
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def stop(proc: subprocess.Popen[bytes], name: str, grace_s: float) -> int | None:
    """SIGTERM, wait up to `grace_s`, then SIGKILL. Returns the exit code (also when the process
    had already exited), or None when it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        print(f"bench: {name} ignored SIGTERM for {grace_s:.0f} s; killing it", file=sys.stderr)
        proc.kill()
        proc.wait()
        return None
