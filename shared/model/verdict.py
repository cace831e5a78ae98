"""The health verdicts (shared/model/rules.py decides which one applies)."""

import enum


class Verdict(enum.StrEnum):
    OK = "OK"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"
    NO_DATA = "NO_DATA"
