"""Read one system's health: every read the policy needs in one pipeline, then the rules.

Reads are bounded by the policy, never by the number of events: the window (≤ 10 counter
containers), the sub-windows of sustain/recovery (≤ ~13 containers), the six burn-rate windows
(shared containers), the system meta hash, and for `consecutive_failures` a bounded slice of the
newest raw events.
"""

import math
from datetime import UTC, datetime

import orjson

from shared.model.codec import Row
from shared.model.events import ERROR_TEXT_FIELD, UNCOUNTED_TYPES
from shared.model.health import Health, LastError, Rule, StageHealth
from shared.model.policy import EffectivePolicy
from shared.model.rules import BURN_RULES, Inputs, Streak, evaluate
from shared.model.stats import Stats
from shared.services.counters import Counters, level_for
from shared.services.raw_events import END_OF_TIME_MS, newest_first
from shared.settings import Settings
from shared.store import keys
from shared.store.client import AsyncRedis
from shared.store.partitions import Partitions

MAX_SUBWINDOWS = 120
EXCERPT_CHARS = 200
MESSAGE_CHARS = 1000


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class HealthReader:
    def __init__(self, client: AsyncRedis, settings: Settings, partitions: Partitions) -> None:
        self._partitions = partitions
        self._client = client
        self._settings = settings

    async def read(
        self, system_id: int, policy: EffectivePolicy, created_at: datetime, now: datetime
    ) -> Health:
        """Health over event `ts` in `[now - window, now]`, to whole seconds at the edges."""
        # One function, in three steps (what to read, one pipeline, the rules): every read the
        # policy needs goes into that one round trip, so the steps share their local state.
        partition = await self._partitions.of(system_id)
        now_s = now.timestamp()
        end_s = math.floor(now_s)
        start_s = end_s - policy.window_seconds
        counters = Counters(partition, system_id)
        counters.need_window(start_s, end_s)
        span_s = policy.sustain_seconds + policy.recovery_seconds
        sub_level = level_for(span_s, MAX_SUBWINDOWS)
        if span_s:
            counters.need_series(sub_level, end_s - span_s, end_s)
        burn_windows = sorted({w for rule in BURN_RULES for w in rule[:2]})
        if policy.burn_rate is not None:
            for w in burn_windows:
                counters.need_window(end_s - w, end_s)

        pipe = self._client.pipeline(transaction=False)
        order = counters.queue(pipe)
        pipe.hmget(
            keys.system_meta(partition, system_id),
            [keys.Meta.LAST_TS, keys.Meta.LAST_ERROR_TS, keys.Meta.LAST_ERROR],
        )
        replies = await pipe.execute()
        counters.store(order, replies[: len(order)])
        last_ts, last_error_ts, last_error = replies[len(order)]
        recent: list[Row] = []
        if policy.consecutive_failures is not None:
            recent, _ = await newest_first(
                self._client,
                keys.raw_events(partition, system_id),
                start_s * 1000,
                END_OF_TIME_MS,
                0,
                min(policy.consecutive_failures * 50, 5000),
            )

        window = counters.window(start_s, end_s)
        inputs = Inputs(
            policy=policy,
            now_s=now_s,
            window=window,
            last_ts_s=None if last_ts is None else int(last_ts) / 1000,
            created_at_s=created_at.timestamp(),
            sub_s=sub_level.slot_s,
            subwindows=counters.series(sub_level, end_s - span_s, end_s) if span_s else [],
            streaks=_streaks(recent),
            burn={w: counters.window(end_s - w, end_s).all for w in burn_windows}
            if policy.burn_rate is not None
            else {},
        )
        verdict, reason, rules = evaluate(inputs)
        total, errors = window.all.total, window.all.errors
        p50, p95, p99 = window.all.quantiles(0.5, 0.95, 0.99)
        return Health(
            system_id=system_id,
            window_seconds=policy.window_seconds,
            window_start=datetime.fromtimestamp(start_s, UTC),
            window_end=now,
            health=verdict,
            reason=reason,
            total=total,
            errors=errors,
            error_rate=window.all.error_rate,
            rps=total / policy.window_seconds,
            p50_latency=p50,
            p95_latency=p95,
            p99_latency=p99,
            last_event_at=None if last_ts is None else _from_ms(int(last_ts)),
            last_error_at=None if last_error_ts is None else _from_ms(int(last_error_ts)),
            last_error=_last_error(last_error_ts, last_error),
            policy=policy,
            rules=[
                Rule(
                    name=r.name,
                    observed=r.observed,
                    threshold=r.threshold,
                    fired=r.fired,
                    sets=r.verdict,
                    reason=r.reason,
                )
                for r in rules
            ],
            stages={name: _stage(s) for name, s in sorted(window.stages.items())},
        )


def _stage(s: Stats) -> StageHealth:
    p50, p95, p99 = s.quantiles(0.5, 0.95, 0.99)
    return StageHealth(
        total=s.total,
        errors=s.errors,
        error_rate=s.error_rate,
        p50_latency=p50,
        p95_latency=p95,
        p99_latency=p99,
    )


def _streaks(rows: list[Row]) -> list[Streak]:
    """Leading `error` events (newest first) per stage and per run of the newest raw events, and
    for the events with neither (a cron job's pings) of the system itself (group "")."""
    broken: set[str] = set()
    counts: dict[str, int] = {}
    for row in rows:
        if row.event_type in UNCOUNTED_TYPES:  # run markers and notes are not results
            continue
        is_error, stage, run_id = bool(row.error), row.stage, row.run_id
        groups = (f"stage {stage}" if stage else None, f"run {run_id}" if run_id else None)
        if stage is None and run_id is None:
            groups = ("", None)
        for group in groups:
            if group is None or group in broken:
                continue
            if is_error:
                counts[group] = counts.get(group, 0) + 1
            else:
                broken.add(group)
    return [Streak(group, n) for group, n in counts.items()]


def _last_error(at_ms: bytes | None, member: bytes | None) -> LastError | None:
    if at_ms is None or not member:
        return None
    row = Row._make(orjson.loads(member))
    payload = row.payload
    excerpt = None if payload is None else orjson.dumps(payload).decode()[:EXCERPT_CHARS]
    text = None if payload is None else payload.get(ERROR_TEXT_FIELD)
    return LastError(
        at=_from_ms(int(at_ms)),
        event_type=row.event_type,
        stage=row.stage,
        run_id=row.run_id,
        payload_excerpt=excerpt,
        message=text[:MESSAGE_CHARS] if isinstance(text, str) else None,
    )
