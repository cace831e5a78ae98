"""Dependencies of the route handlers, as `Annotated` aliases.

The services are built once in the lifespan (api/main.py) and kept on `app.state` under the names
used here.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request

from api.auth import Authenticator
from shared.ingest.append import Ingestor
from shared.services.backlog import Readiness
from shared.services.dead_letters import DeadLetters
from shared.services.health import HealthReader
from shared.services.history import HistoryReader
from shared.services.jobs import Jobs
from shared.services.notifications import Channels
from shared.services.raw_events import RawEvents
from shared.services.registry import Registry
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
IngestorDep = Annotated[Ingestor, _state("ingestor", Ingestor)]
HealthReaderDep = Annotated[HealthReader, _state("health_reader", HealthReader)]
HistoryReaderDep = Annotated[HistoryReader, _state("history", HistoryReader)]
RawEventsDep = Annotated[RawEvents, _state("raw_events", RawEvents)]
RunsDep = Annotated[Runs, _state("runs", Runs)]
ReadinessDep = Annotated[Readiness, _state("readiness", Readiness)]
DeadLettersDep = Annotated[DeadLetters, _state("dead_letters", DeadLetters)]
AuthenticatorDep = Annotated[Authenticator, _state("authenticator", Authenticator)]
ChannelsDep = Annotated[Channels, _state("channels", Channels)]
JobsDep = Annotated[Jobs, _state("jobs", Jobs)]
# The current time; tests replace `app.state.clock` to put windows exactly where they want them.
NowDep = Annotated[datetime, Depends(_now)]
SystemId = Annotated[int, Path(ge=1, description="Id assigned at registration")]
