"""The health verdict: every rule of a system's policy evaluated on statistics read from counters.

Pure functions of their inputs (no I/O, no clock), so each rule is tested with exact numbers.
Severity: any UNHEALTHY rule wins, then any DEGRADED rule; with too few events the error-rate and
latency rules do not judge (NO_DATA), but silence, consecutive failures and burn rate still do.
"""

from dataclasses import dataclass, field

from shared.model.policy import EffectivePolicy
from shared.model.stats import StagedStats, Stats
from shared.model.text import quoted
from shared.model.verdict import Verdict

# Multi-window, multi-burn-rate alerting (Google SRE workbook): (long window, short window, burn
# factor, verdict when both windows burn at least that fast).
BURN_RULES: tuple[tuple[int, int, float, Verdict], ...] = (
    (3600, 300, 14.4, Verdict.UNHEALTHY),
    (21_600, 1800, 6.0, Verdict.UNHEALTHY),
    (86_400, 7200, 3.0, Verdict.DEGRADED),
)


@dataclass(frozen=True)
class RuleResult:
    name: str
    observed: float | None
    threshold: float | None
    fired: bool
    verdict: Verdict  # what the rule sets when it fires
    reason: str


@dataclass
class Streak:
    """Consecutive `error` events, newest first, of one stage or run."""

    group: str  # "stage load" or "run 2026-11-28"
    errors: int


@dataclass
class Inputs:
    policy: EffectivePolicy
    now_s: float
    window: StagedStats
    last_ts_s: float | None
    created_at_s: float
    sub_s: int = 1
    subwindows: list[tuple[int, Stats]] = field(default_factory=list)  # (start s, stats), ascending
    streaks: list[Streak] = field(default_factory=list)
    burn: dict[int, Stats] = field(default_factory=dict)  # window s -> stats ending now


def _g(x: float) -> str:
    return f"{x:.4g}"


def _vs(observed: float, threshold: float) -> str:
    return "≥" if observed >= threshold else "<"


def _unhealthy(p: EffectivePolicy, s: Stats) -> bool:
    if s.error_rate >= p.unhealthy_error_rate:
        return True
    return p.unhealthy_p95_ms is not None and s.quantiles(0.95)[0] >= p.unhealthy_p95_ms


def unhealthy_held_s(i: Inputs) -> float:
    """How long the unhealthy condition (error rate or p95) has held, on sub-windows up to now.

    Empty sub-windows neither break nor extend the streak's start."""
    start: float | None = None
    for sub_start, stats in reversed(i.subwindows):
        if stats.total == 0:
            continue
        if not _unhealthy(i.policy, stats):
            break
        start = sub_start
    return 0.0 if start is None else i.now_s - start


def last_episode_end_s(i: Inputs) -> float | None:
    """End of the most recent sustained unhealthy episode on the sub-windows, if any."""
    needed = max(i.policy.sustain_seconds, i.sub_s)
    episode_end = None
    run_start = run_end = None
    for sub_start, stats in i.subwindows:
        if stats.total == 0:
            continue
        if _unhealthy(i.policy, stats):
            run_start = sub_start if run_start is None else run_start
            run_end = min(sub_start + i.sub_s, i.now_s)
            if run_end - run_start >= needed:
                episode_end = run_end
        else:
            run_start = run_end = None
    return episode_end


def _silence(i: Inputs) -> RuleResult | None:
    p = i.policy
    if p.expected_interval_seconds is None:
        return None
    since = i.last_ts_s if i.last_ts_s is not None else i.created_at_s
    silent_s = max(0.0, i.now_s - since)
    limit = p.expected_interval_seconds + p.grace_seconds
    fired = silent_s > limit
    what = "silent" if i.last_ts_s is not None else "never reported, registered"
    return RuleResult(
        "silence", round(silent_s), limit, fired, Verdict.UNHEALTHY,
        f"{what} for {silent_s:.0f} s (expected every {p.expected_interval_seconds} s "
        f"+ {p.grace_seconds} s grace)",
    )  # fmt: skip


def _consecutive(i: Inputs) -> RuleResult | None:
    n = i.policy.consecutive_failures
    if n is None:
        return None
    worst = max(i.streaks, key=lambda s: s.errors, default=Streak("", 0))
    fired = worst.errors >= n
    where = f" in {quoted(worst.group)}" if worst.group else ""
    return RuleResult(
        "consecutive_failures", worst.errors, n, fired, Verdict.UNHEALTHY,
        f"{worst.errors} consecutive errors{where} (limit {n})",
    )  # fmt: skip


def _error_rate(i: Inputs) -> list[RuleResult]:
    p, w = i.policy, i.window.all
    rate = w.error_rate
    out = [
        RuleResult(
            "error_rate_degraded", rate, p.degraded_error_rate, rate >= p.degraded_error_rate,
            Verdict.DEGRADED,
            f"error rate {_g(rate)} {_vs(rate, p.degraded_error_rate)} {_g(p.degraded_error_rate)}",
        )
    ]  # fmt: skip
    out.append(_sustainable(i, "error_rate_unhealthy", rate, p.unhealthy_error_rate,
                            f"error rate {_g(rate)} {_vs(rate, p.unhealthy_error_rate)} "
                            f"{_g(p.unhealthy_error_rate)}"))  # fmt: skip
    return out


def _latency(i: Inputs) -> list[RuleResult]:
    p = i.policy
    if p.degraded_p95_ms is None and p.unhealthy_p95_ms is None:
        return []  # the default: no quantile to compute (every evaluation comes here)
    p95 = i.window.all.quantiles(0.95)[0]
    out = []
    if p.degraded_p95_ms is not None:
        out.append(RuleResult(
            "p95_degraded", p95, p.degraded_p95_ms, p95 >= p.degraded_p95_ms, Verdict.DEGRADED,
            f"p95 latency {_g(p95)} ms {_vs(p95, p.degraded_p95_ms)} {_g(p.degraded_p95_ms)} ms",
        ))  # fmt: skip
    if p.unhealthy_p95_ms is not None:
        text = (
            f"p95 latency {_g(p95)} ms {_vs(p95, p.unhealthy_p95_ms)} {_g(p.unhealthy_p95_ms)} ms"
        )
        out.append(_sustainable(i, "p95_unhealthy", p95, p.unhealthy_p95_ms, text))
    return out


def _sustainable(i: Inputs, name: str, observed: float, threshold: float, text: str) -> RuleResult:
    """An UNHEALTHY rule: on the window at once, or, with sustain_seconds, only once the condition
    has held that long on sub-windows (DEGRADED meanwhile)."""
    sustain = i.policy.sustain_seconds
    if not sustain:
        return RuleResult(name, observed, threshold, observed >= threshold, Verdict.UNHEALTHY, text)
    held = unhealthy_held_s(i)
    if held >= sustain:
        return RuleResult(name, observed, threshold, True, Verdict.UNHEALTHY,
                          f"unhealthy for {int(held)} s (sustain {sustain} s)")  # fmt: skip
    pending = held > 0
    return RuleResult(name, observed, threshold, pending, Verdict.DEGRADED,
                      f"unhealthy for {int(held)} s of {sustain} s needed")  # fmt: skip


def _burn(i: Inputs) -> list[RuleResult]:
    target = i.policy.burn_rate
    if target is None:
        return []
    budget = 1 - target.slo_target
    out = []
    for long_s, short_s, factor, verdict in BURN_RULES:
        long_burn = i.burn[long_s].error_rate / budget
        short_burn = i.burn[short_s].error_rate / budget
        fired = long_burn >= factor and short_burn >= factor
        out.append(RuleResult(
            f"burn_rate_{long_s // 3600}h", min(long_burn, short_burn), factor, fired, verdict,
            f"error budget burning {_g(long_burn)}× over {long_s // 3600} h and "
            f"{_g(short_burn)}× over {short_s // 60} min (limit {factor}×)",
        ))  # fmt: skip
    return out


def _recovery(i: Inputs) -> RuleResult | None:
    p = i.policy
    if not p.recovery_seconds:
        return None
    end = last_episode_end_s(i)
    clear = None if end is None else max(0.0, i.now_s - end)
    fired = clear is not None and clear < p.recovery_seconds
    return RuleResult(
        "recovery", clear, p.recovery_seconds, fired, Verdict.DEGRADED,
        f"recovering: clear for {int(clear or 0)} s of {p.recovery_seconds} s needed",
    )  # fmt: skip


def evaluate(i: Inputs) -> tuple[Verdict, str, list[RuleResult]]:
    """The verdict, the reason in words with the numbers, and every rule evaluated."""
    p, total = i.policy, i.window.all.total
    enough = total >= max(p.min_events, 1)
    rules = [r for r in (_silence(i), _consecutive(i)) if r is not None]
    if enough:
        rules += _error_rate(i) + _latency(i)
    rules += _burn(i)
    unhealthy = [r for r in rules if r.fired and r.verdict is Verdict.UNHEALTHY]
    if unhealthy:
        return Verdict.UNHEALTHY, unhealthy[0].reason, rules
    recovery = _recovery(i)
    if recovery is not None:
        rules.append(recovery)
    # An unhealthy condition still waiting for its sustain time says so first, then recovery.
    degraded = sorted(
        (r for r in rules if r.fired and r.verdict is Verdict.DEGRADED),
        key=lambda r: 0 if r.name.endswith("_unhealthy") else 1 if r.name == "recovery" else 2,
    )
    if degraded:
        return Verdict.DEGRADED, degraded[0].reason, rules
    if not enough:
        if total == 0:
            return Verdict.NO_DATA, f"no events in the last {p.window_seconds} s", rules
        return (
            Verdict.NO_DATA,
            f"insufficient data: {total} events < min_events {p.min_events}",
            rules,
        )
    rate = i.window.all.error_rate
    return (
        Verdict.OK,
        f"within thresholds: error rate {_g(rate)} < {_g(p.degraded_error_rate)}",
        rules,
    )
