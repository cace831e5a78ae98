"""Notification channels in the registry (`lso:{reg}:channels`), and a system's notification
state: transitions, deliveries and mute (in the system's partition)."""

import asyncio
import secrets
from datetime import UTC, datetime

import orjson

from shared.model.channels import Channel, ChannelKind, check_url
from shared.model.verdict import Verdict
from shared.store import keys
from shared.store.client import AsyncRedis, text
from shared.store.keys import TransitionEntry as T
from shared.store.partitions import Partitions


def _moment(ms: object) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(int(ms) / 1000, UTC)  # type: ignore[call-overload]


def _group(record: dict[str, object]) -> dict[str, object]:
    """A grouped delivery's JSON (group.lua, worker/jobs/groups.py) as the API shows it."""
    members = record.get("members")
    listed = sorted(members if isinstance(members, list) else [],
                    key=lambda m: (m["at_ms"], m["system_id"]))  # fmt: skip
    return {
        "delivery_id": record["delivery_id"], "channel_id": record["channel_id"],
        "status": record["status"], "attempts": record["attempts"],
        "last_error": record.get("last_error"), "opened_at": _moment(record["opened_ms"]),
        "due_at": _moment(record.get("due_ms")), "created_at": _moment(record.get("created_ms")),
        "updated_at": _moment(record.get("updated_ms")),
        "members": [{"delivery_id": m["delivery_id"], "system_id": m["system_id"],
                     "from": m["from"], "to": m["to"], "reason": m.get("reason"),
                     "at": _moment(m["at_ms"])} for m in listed],
    }  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Channels:
    def __init__(self, client: AsyncRedis, partitions: Partitions, allow_private: bool) -> None:
        self._client = client
        self._partitions = partitions
        self._allow_private = allow_private

    async def check(self, url: str) -> None:
        """Raises UnsafeUrl (a ValueError) for a URL notifications must not go to."""
        await asyncio.to_thread(check_url, url, self._allow_private)

    async def create(
        self,
        system_id: int | None,
        kind: ChannelKind,
        url: str,
        notify_on: list[Verdict],
        name: str | None,
        group_window_s: int | None = None,
    ) -> Channel:
        channel_id = int(await self._client.incr(keys.CHANNEL_SEQ))
        channel = Channel(
            channel_id=channel_id,
            system_id=system_id,
            kind=kind,
            url=url,
            notify_on=list(dict.fromkeys(notify_on)),
            name=name,
            group_window_s=group_window_s,
            created_at=_iso(datetime.now(UTC)),
            secret="lso_s_" + secrets.token_urlsafe(32),
        )
        await self._client.hset(keys.CHANNELS, str(channel_id), channel.model_dump_json())
        return channel

    async def of(self, system_id: int | None) -> list[Channel]:
        """The channels of one system (`None`: the global ones)."""
        docs: list[bytes] = await self._client.hvals(keys.CHANNELS)  # type: ignore[assignment]
        found = [Channel.model_validate_json(doc) for doc in docs]
        return sorted((c for c in found if c.system_id == system_id), key=lambda c: c.channel_id)

    async def delete(self, system_id: int | None, channel_id: int) -> bool:
        doc = await self._client.hget(keys.CHANNELS, str(channel_id))
        if doc is None or Channel.model_validate_json(doc).system_id != system_id:
            return False
        return bool(await self._client.hdel(keys.CHANNELS, str(channel_id)))

    async def delete_all_of(self, system_id: int) -> None:
        for channel in await self.of(system_id):
            await self._client.hdel(keys.CHANNELS, str(channel.channel_id))

    async def transitions(self, system_id: int, limit: int) -> list[dict[str, object]]:
        p = await self._partitions.of(system_id)
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self._client.xrevrange(  # type: ignore[assignment]
            keys.transitions(p, system_id), count=limit
        )
        return [
            {
                "id": text(entry_id),
                "system_id": system_id,
                "from": text(fields[T.FROM]) or None,
                "to": text(fields[T.TO]),
                "reason": text(fields[T.REASON]),
                "at": datetime.fromtimestamp(int(fields[T.AT]) / 1000, UTC),
            }
            for entry_id, raw in entries
            for fields in [{text(k): v for k, v in raw.items()}]
        ]

    async def deliveries(self, system_id: int, limit: int) -> list[dict[str, object]]:
        """The delivery log, newest first; a notification held back (for flapping, or while an
        upstream fails) comes first, one line per channel it will go to, with status `held`,
        `held_until` (when it goes out; null while the upstream still fails) and
        `held_reason` (the failing upstream; null for flapping)."""
        p = await self._partitions.of(system_id)
        out = await self._held(p, system_id)
        ids: list[bytes] = await self._client.zrevrange(  # type: ignore[assignment]
            keys.delivery_index(p, system_id), 0, limit - 1
        )
        if not ids:
            return out[:limit]
        docs = await self._client.hmget(keys.deliveries(p, system_id), ids)
        for doc in docs:
            if doc is None:
                continue
            record = orjson.loads(doc)
            for field in ("at", "created", "updated"):
                ms = record.pop(f"{field}_ms")
                record[field if field == "at" else f"{field}_at"] = datetime.fromtimestamp(
                    ms / 1000, UTC
                )
            out.append(record)
        return out[:limit]

    async def _held(self, partition: int, system_id: int) -> list[dict[str, object]]:
        V = keys.VerdictState
        fields = [V.VERDICT, V.NOTIFIED, V.REASON, V.SINCE_MS, V.HELD_UNTIL_MS, V.HELD_BY]
        raw = await self._client.hmget(keys.verdict(partition, system_id), fields)
        verdict, notified, reason, since_ms, held_until_ms, held_by = (
            None if r is None else text(r) for r in raw
        )
        held = held_until_ms is not None or held_by is not None
        if not held or verdict is None or since_ms is None or verdict == notified:
            return []
        before = notified or "OK"
        held_until = (
            None
            if held_until_ms is None
            else datetime.fromtimestamp(int(held_until_ms) / 1000, UTC)
        )
        since = datetime.fromtimestamp(int(since_ms) / 1000, UTC)
        channels = await self.of(system_id) + await self.of(None)
        return [
            {"delivery_id": f"{system_id}-{since_ms}-{c.channel_id}", "channel_id": c.channel_id,
             "system_id": system_id, "from": before, "to": verdict, "reason": reason, "at": since,
             "status": "held", "attempts": 0, "last_error": None, "created_at": since,
             "updated_at": since, "held_until": held_until, "held_reason": held_by}
            for c in channels
            if c.cares(before, verdict)
        ]  # fmt: skip

    async def group(self, group_id: str) -> dict[str, object] | None:
        """A grouped delivery (worker/jobs/groups.py), or a group still open; None if unknown."""
        doc = await self._client.hget(keys.GROUP_DELIVERIES, group_id)
        if doc is not None:
            return _group(orjson.loads(doc))
        return next((g for g in await self._open_groups() if g["delivery_id"] == group_id), None)

    async def groups(self, channel_id: int | None, limit: int) -> list[dict[str, object]]:
        """Open groups, then grouped deliveries newest first (of one channel, or all)."""
        found = [g for g in await self._open_groups() if channel_id in (None, g["channel_id"])]
        ids: list[bytes] = await self._client.zrevrange(keys.GROUP_DELIVERY_INDEX, 0, -1)  # type: ignore[assignment]
        for first in range(0, len(ids), 500):
            if len(found) >= limit:
                break
            docs = await self._client.hmget(keys.GROUP_DELIVERIES, ids[first : first + 500])
            records = (_group(orjson.loads(d)) for d in docs if d is not None)
            found.extend(r for r in records if channel_id in (None, r["channel_id"]))
        return found[:limit]

    async def _open_groups(self) -> list[dict[str, object]]:
        channel_ids: list[bytes] = await self._client.zrange(keys.GROUPS_DUE, 0, -1)  # type: ignore[assignment]
        found = []
        for raw in channel_ids:
            pipe = self._client.pipeline(transaction=False)
            pipe.hgetall(keys.open_group(int(raw)))
            pipe.hvals(keys.group_members(int(raw)))
            state, members = await pipe.execute()
            g = {text(k): text(v) for k, v in state.items()}
            if keys.OpenGroup.GROUP_ID not in g:
                continue
            found.append(_group({
                "delivery_id": g[keys.OpenGroup.GROUP_ID], "channel_id": int(raw),
                "status": "open", "attempts": 0, "last_error": None,
                "opened_ms": int(g[keys.OpenGroup.OPENED_MS]),
                "due_ms": int(g[keys.OpenGroup.DUE_MS]),
                "members": [orjson.loads(m) for m in members],
            }))  # fmt: skip
        return found

    async def mute(self, system_id: int, until: datetime) -> None:
        p = await self._partitions.of(system_id)
        until_ms = int(until.timestamp() * 1000)
        await self._client.set(keys.mute(p, system_id), until_ms, pxat=until_ms)

    async def unmute(self, system_id: int) -> None:
        p = await self._partitions.of(system_id)
        await self._client.delete(keys.mute(p, system_id))

    async def muted_until(self, system_id: int) -> datetime | None:
        p = await self._partitions.of(system_id)
        raw = await self._client.get(keys.mute(p, system_id))
        return None if raw is None else datetime.fromtimestamp(int(raw) / 1000, UTC)
