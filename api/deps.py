"""Dependencies of the route handlers, as `Annotated` aliases.

The services are built once in the lifespan (api/main.py) and kept on `app.state` under the names
used here. The system aliases authorize the caller for the system in the path and load it once,
so a handler that takes one never repeats that preamble.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request

from api import auth
from api.auth import Authenticator, CallerDep
from shared.ingest.accept import Ingest
from shared.services.backlog import Readiness
from shared.services.dead_letters import DeadLetters
from shared.services.dependencies import Dependencies
from shared.services.fleet import Fleet
from shared.services.health import HealthReader
from shared.services.history import HistoryReader
from shared.services.jobs import Jobs
from shared.services.lifecycle import Lifecycle
from shared.services.metrics import Metrics
from shared.services.notifications import Channels
from shared.services.raw_events import RawEvents
from shared.services.registry import Known, Registry
from shared.services.run_starts import RunStarts
from shared.services.runs import Runs
from shared.settings import Settings
from shared.store.client import AsyncRedis

T = TypeVar("T")


def _state(name: str, kind: type[T]) -> Any:
    """A dependency returning `app.state.<name>`, typed as `kind` for the alias below."""

    # `async def`: FastAPI runs plain `def` dependencies in a thread pool, a thread hop each.
    async def get(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    get.__name__ = f"get_{name}"
    return Depends(get)


async def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


SettingsDep = Annotated[Settings, _state("settings", Settings)]
RedisDep = Annotated[AsyncRedis, _state("redis", object)]
RegistryDep = Annotated[Registry, _state("registry", Registry)]
IngestDep = Annotated[Ingest, _state("ingest", Ingest)]
HealthReaderDep = Annotated[HealthReader, _state("health_reader", HealthReader)]
FleetDep = Annotated[Fleet, _state("fleet", Fleet)]
HistoryReaderDep = Annotated[HistoryReader, _state("history", HistoryReader)]
RawEventsDep = Annotated[RawEvents, _state("raw_events", RawEvents)]
RunsDep = Annotated[Runs, _state("runs", Runs)]
RunStartsDep = Annotated[RunStarts, _state("run_starts", RunStarts)]
ReadinessDep = Annotated[Readiness, _state("readiness", Readiness)]
DeadLettersDep = Annotated[DeadLetters, _state("dead_letters", DeadLetters)]
AuthenticatorDep = Annotated[Authenticator, _state("authenticator", Authenticator)]
ChannelsDep = Annotated[Channels, _state("channels", Channels)]
JobsDep = Annotated[Jobs, _state("jobs", Jobs)]
LifecycleDep = Annotated[Lifecycle, _state("lifecycle", Lifecycle)]
MetricsDep = Annotated[Metrics, _state("metrics", Metrics)]
DependenciesDep = Annotated[Dependencies, _state("dependencies", Dependencies)]
# The current time; tests replace `app.state.clock` to put windows exactly where they want them.
NowDep = Annotated[datetime, Depends(_now)]
SystemId = Annotated[int, Path(ge=1, description="Id assigned at registration")]


async def _readable_system(system_id: SystemId, caller: CallerDep, registry: RegistryDep) -> Known:
    auth.read(caller, system_id)
    return await registry.require(system_id)


async def _administered_system(
    system_id: SystemId, caller: CallerDep, registry: RegistryDep
) -> Known:
    auth.admin(caller)
    return await registry.require(system_id)


async def _admin(caller: CallerDep) -> auth.Principal:
    return auth.admin(caller)


async def _reader(caller: CallerDep) -> auth.Principal:
    return auth.readers_only(caller)


# The system in the path, which the caller may read (404 if it does not exist or is not theirs).
ReadableSystem = Annotated[Known, Depends(_readable_system)]
# The system in the path, for an admin (401/403 for any other caller, then 404 if unknown).
AdministeredSystem = Annotated[Known, Depends(_administered_system)]
# An admin caller (401 without a key, 403 with another kind).
AdminCaller = Annotated[auth.Principal, Depends(_admin)]
# An admin or read key (listings: a read key then sees its own systems only).
ReaderCaller = Annotated[auth.Principal, Depends(_reader)]
