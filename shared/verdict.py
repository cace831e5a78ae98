"""The health verdict of one window of counters."""

import enum


class Verdict(enum.StrEnum):
    OK = "OK"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"
    NO_DATA = "NO_DATA"


def judge(
    total: int, errors: int, window_s: int, degraded_rate: float, unhealthy_rate: float
) -> tuple[Verdict, str]:
    """The verdict and, in words with the numbers, the rule that decided it."""
    if total == 0:
        return Verdict.NO_DATA, f"no events in the last {window_s} s"
    rate = errors / total
    if rate >= unhealthy_rate:
        return Verdict.UNHEALTHY, f"error rate {rate:.4g} ≥ {unhealthy_rate:.4g}"
    if rate >= degraded_rate:
        return Verdict.DEGRADED, f"error rate {rate:.4g} ≥ {degraded_rate:.4g}"
    return Verdict.OK, f"within thresholds: error rate {rate:.4g} < {degraded_rate:.4g}"
