"""Problems in the logs of `lso api` (also the abuse scenario's), `lso worker` and `lso jobs`
(format of shared/logs.py)."""

import re
from collections import Counter
from pathlib import Path

_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
_BAD_LEVELS = ("WARNING", "ERROR", "CRITICAL")
_REQUEST_ID = re.compile(r"^rid=\S+ ")  # one per request: records differing only there are alike
# Said at start by every API the stack runs with auth off, as the benchmark means it to.
_EXPECTED = ("LSO_AUTH=off: EVERY CALLER IS ADMIN",)


def _records(lines: list[str]) -> list[list[str]]:
    """Log records: a line with a timestamp starts one, traceback lines continue it."""
    records: list[list[str]] = []
    for line in lines:
        if _RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return records


def scan_logs(logs_dir: Path) -> list[str]:
    """One problem line per distinct (level, message, exception) among ERROR/WARNING records."""
    problems = []
    for name in ("api", "worker", "worker-2", "api-abuse", "jobs", "jobs-2"):
        path = logs_dir / f"{name}.log"
        if not path.exists():
            continue
        seen: Counter[str] = Counter()
        for record in _records(path.read_text(errors="replace").splitlines()):
            head = _RECORD_START.sub("", record[0]).strip()
            level = head.split(" ", 1)[0]
            if level not in _BAD_LEVELS and not any("Traceback" in ln for ln in record):
                continue
            message = _REQUEST_ID.sub("", head.split("] ", 1)[-1])
            if message.startswith(_EXPECTED):
                continue
            exception = record[-1].strip() if len(record) > 1 else ""
            seen[f"{level} {message!r}" + (f" ending in {exception!r}" if exception else "")] += 1
        problems += [f"{name}.log: {n}x {what}" for what, n in seen.most_common()]
    return problems
