"""CPU used by groups of processes over a window, from /proc (Linux): each process with its
descendants (`lso jobs` runs rq's scheduler in a child process)."""

import os
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # gone meanwhile


def _tree(roots: list[int]) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    found = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found


def cpu_s(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each process still there."""
    out = {}
    for pid in pids:
        if (fields := _stat(pid)) is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return out


def cores_over(groups: dict[str, list[int]], window_s: float) -> dict[str, float]:
    """Cores each group (its processes and their descendants) used over the next `window_s`:
    CPU seconds per wall second. A process that ends inside the window counts up to its last
    reading before it."""
    trees = {name: _tree(pids) for name, pids in groups.items()}
    before = {name: cpu_s(pids) for name, pids in trees.items()}
    start = time.monotonic()
    time.sleep(window_s)  # the window itself: what is measured runs in other processes
    after = {name: cpu_s(pids) for name, pids in trees.items()}
    elapsed_s = time.monotonic() - start
    return {
        name: sum(after[name].get(pid, t) - t for pid, t in before[name].items()) / elapsed_s
        for name in groups
    }
