"""Per-system health policy: what a client may set, and the effective policy after defaults.

Every field is optional; what is not set comes from the settings (`LSO_WINDOW_SECONDS`,
`LSO_DEGRADED_ERROR_RATE`, `LSO_UNHEALTHY_ERROR_RATE`) or is off. docs/health.md
explain each rule with an example.
"""

from typing import Annotated, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import InvalidInput, PolicyConflict
from shared.settings import Settings

Seconds = Annotated[int, Field(ge=0, le=7 * 86_400)]
Rate = Annotated[float, Field(ge=0, le=1)]
RELEASE_AFTER_S = 60  # docs/dependencies.md
Millis = Annotated[float, Field(gt=0, le=1e10, allow_inf_nan=False)]


class BurnRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slo_target: float = Field(
        ..., gt=0, lt=1, description="Share of events that must succeed, e.g. 0.99"
    )


class Policy(BaseModel):
    """What a system's owner sets; every field optional (null or absent: the default)."""

    model_config = ConfigDict(extra="forbid")

    window_seconds: Annotated[int, Field(ge=10, le=86_400)] | None = None
    degraded_error_rate: Rate | None = None
    unhealthy_error_rate: Rate | None = None
    degraded_p95_ms: Millis | None = None
    unhealthy_p95_ms: Millis | None = None
    min_events: Annotated[int, Field(ge=0, le=10**9)] | None = None
    sustain_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    consecutive_failures: Annotated[int, Field(ge=1, le=1000)] | None = None
    recovery_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    expected_interval_seconds: Annotated[int, Field(ge=1)] | None = None
    grace_seconds: Seconds | None = None
    burn_rate: BurnRate | None = None
    run_idle_seconds: Annotated[int, Field(ge=1, le=7 * 86_400)] | None = Field(
        None, description="A run with no event for this long has finished (default 300)"
    )
    max_run_seconds: Annotated[int, Field(ge=1)] | None = None
    min_run_seconds: Annotated[int, Field(ge=0)] | None = None
    probe_no_data: Literal["ok", "unhealthy"] | None = Field(
        None, description="What the load-balancer probe answers for NO_DATA (default ok: 200)"
    )
    release_after_s: Seconds | None = Field(
        None,
        description="A notification held while an upstream failed goes out this long after the "
        "upstream recovers, if the system still fails then (default 60)",
    )


class EffectivePolicy(BaseModel):
    """The policy the verdict used: the system's own values, defaults elsewhere."""

    window_seconds: int
    degraded_error_rate: float
    unhealthy_error_rate: float
    degraded_p95_ms: float | None
    unhealthy_p95_ms: float | None
    min_events: int
    sustain_seconds: int
    consecutive_failures: int | None
    recovery_seconds: int
    expected_interval_seconds: int | None
    grace_seconds: int
    burn_rate: BurnRate | None
    run_idle_seconds: int
    max_run_seconds: int | None
    min_run_seconds: int | None
    probe_no_data: Literal["ok", "unhealthy"]
    release_after_s: int = RELEASE_AFTER_S

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.degraded_error_rate > self.unhealthy_error_rate:
            raise ValueError("degraded_error_rate must not exceed unhealthy_error_rate")
        if (
            self.degraded_p95_ms is not None
            and self.unhealthy_p95_ms is not None
            and self.degraded_p95_ms > self.unhealthy_p95_ms
        ):
            raise ValueError("degraded_p95_ms must not exceed unhealthy_p95_ms")
        return self


def effective(policy: Policy, settings: Settings) -> EffectivePolicy:
    """Resolve defaults; raises pydantic.ValidationError when the result is inconsistent."""
    return EffectivePolicy(
        window_seconds=policy.window_seconds or settings.window_seconds,
        degraded_error_rate=_or(policy.degraded_error_rate, settings.degraded_error_rate),
        unhealthy_error_rate=_or(policy.unhealthy_error_rate, settings.unhealthy_error_rate),
        degraded_p95_ms=policy.degraded_p95_ms,
        unhealthy_p95_ms=policy.unhealthy_p95_ms,
        min_events=_or(policy.min_events, 1),
        sustain_seconds=_or(policy.sustain_seconds, 0),
        consecutive_failures=policy.consecutive_failures,
        recovery_seconds=_or(policy.recovery_seconds, 0),
        expected_interval_seconds=policy.expected_interval_seconds,
        grace_seconds=_or(policy.grace_seconds, 0),
        burn_rate=policy.burn_rate,
        run_idle_seconds=_or(policy.run_idle_seconds, 300),
        max_run_seconds=policy.max_run_seconds,
        min_run_seconds=policy.min_run_seconds,
        probe_no_data=policy.probe_no_data or "ok",
        release_after_s=_or(policy.release_after_s, RELEASE_AFTER_S),
    )


def resolve_new(policy: Policy, settings: Settings) -> EffectivePolicy:
    """The effective policy of a policy about to be stored; InvalidInput (at `body.policy`) when
    its values contradict each other or a default."""
    try:
        return effective(policy, settings)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "policy"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise InvalidInput(errors) from exc


def resolve_stored(policy: Policy, settings: Settings) -> EffectivePolicy:
    """The effective policy of a stored policy; PolicyConflict when it was stored before a
    default changed and no longer fits."""
    try:
        return effective(policy, settings)
    except ValidationError as exc:
        raise PolicyConflict(f"the system's policy conflicts with the defaults: {exc}") from exc


T = TypeVar("T")


def _or(value: T | None, default: T) -> T:
    return default if value is None else value
