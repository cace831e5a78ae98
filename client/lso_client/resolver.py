"""System names to ids: asked of LSO once per name, then cached.

`GET /systems/by-name/{name}` finds a system the key may see; when there is none and the client
may create systems, `POST /systems {"name"}` registers it (the admin key may, and a namespace key
for names under its namespace). A name LSO refuses (401, 403, an unknown name that may not be
created, an invalid name) stays refused for the life of the client."""

import json
import logging
from urllib.parse import quote

from lso_client.transport import Answer, Transport

log = logging.getLogger("lso_client.resolver")
# Answers worth asking again after a wait: the server is busy, down or over a limit.
RETRYABLE = frozenset({408, 429}) | frozenset(range(500, 600))


class RetryLater(Exception):
    """LSO could not answer now; try again after a wait (at least `retry_after_s` if set)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Resolver:
    def __init__(self, transport: Transport, create_systems: bool) -> None:
        self._transport = transport
        self._create_systems = create_systems
        self._ids: dict[str, int] = {}
        self.refused: dict[str, str] = {}  # name -> why LSO will not take events for it

    def resolve(self, system: int | str) -> int | None:
        """The id of `system` (an int is one already); None when LSO refuses the name. Raises
        RetryLater, or TransportError when LSO gave no answer."""
        if isinstance(system, int):
            return system
        if system in self.refused:
            return None
        if system not in self._ids:
            found = self._lookup(system)
            if found is None:
                return None
            self._ids[system] = found
        return self._ids[system]

    def forget(self, name: str) -> None:
        """The id cached for `name` is stale (LSO answered 404 for it): ask again next time."""
        self._ids.pop(name, None)

    def _lookup(self, name: str) -> int | None:
        answer = self._transport.request("GET", f"/systems/by-name/{quote(name, safe='')}")
        if answer.status == 200:
            return _system_id(answer)
        if answer.status != 404:
            self._refuse_or_retry(name, "looking it up", answer)
            return None
        if not self._create_systems:
            self._refuse(name, "LSO knows no system of that name (create_systems is off)")
            return None
        body = json.dumps({"name": name}).encode()
        created = self._transport.request("POST", "/systems", body)
        if created.status in (200, 201):
            log.info("lso-client: system %r is id %s", name, _system_id(created))
            return _system_id(created)
        self._refuse_or_retry(name, "registering it", created)
        return None

    def _refuse_or_retry(self, name: str, doing: str, answer: Answer) -> None:
        if answer.status in RETRYABLE:
            raise RetryLater(f"{answer.status} {doing}", answer.retry_after_s)
        self._refuse(name, f"{answer.status} {doing}: {answer.excerpt()}")

    def _refuse(self, name: str, why: str) -> None:
        self.refused[name] = why
        log.warning("lso-client: events for system %r are dropped: %s", name, why)


def _system_id(answer: Answer) -> int:
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("system_id"), int):
        raise RetryLater(f"{answer.status} without a system_id: {answer.excerpt()}")
    return int(body["system_id"])
