"""Child processes that die with their parent (Linux PR_SET_PDEATHSIG), so `lso up` leaves no
orphans even when it is killed with SIGKILL."""

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Files a child creates are its user's alone: the store's AOF holds channel signing secrets.
    os.umask(0o077)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start a child in its own process group (a terminal's Ctrl-C reaches only the supervisor,
    which then stops the children in order) that receives SIGTERM if the supervisor dies."""
    return subprocess.Popen(
        list(argv), env=dict(env), start_new_session=True, preexec_fn=_die_with_parent
    )
