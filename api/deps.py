"""Dependencies of the route handlers, as `Annotated` aliases."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Path, Request

from api.dead_letters import DeadLetters
from api.health_read import HealthReader
from api.history import HistoryReader
from api.ingest import Ingestor
from api.raw_events import RawEvents
from api.readiness import Readiness
from api.registry import Registry
from api.runs import Runs
from shared.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _ingestor(request: Request) -> Ingestor:
    ingestor: Ingestor = request.app.state.ingestor
    return ingestor


def _health_reader(request: Request) -> HealthReader:
    reader: HealthReader = request.app.state.health_reader
    return reader


def _history(request: Request) -> HistoryReader:
    reader: HistoryReader = request.app.state.history
    return reader


def _raw_events(request: Request) -> RawEvents:
    raw_events: RawEvents = request.app.state.raw_events
    return raw_events


def _runs(request: Request) -> Runs:
    runs: Runs = request.app.state.runs
    return runs


def _readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


def _dead_letters(request: Request) -> DeadLetters:
    dead_letters: DeadLetters = request.app.state.dead_letters
    return dead_letters


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


SettingsDep = Annotated[Settings, Depends(_settings)]
RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
RegistryDep = Annotated[Registry, Depends(_registry)]
IngestorDep = Annotated[Ingestor, Depends(_ingestor)]
HealthReaderDep = Annotated[HealthReader, Depends(_health_reader)]
ReadinessDep = Annotated[Readiness, Depends(_readiness)]
HistoryReaderDep = Annotated[HistoryReader, Depends(_history)]
RawEventsDep = Annotated[RawEvents, Depends(_raw_events)]
RunsDep = Annotated[Runs, Depends(_runs)]
DeadLettersDep = Annotated[DeadLetters, Depends(_dead_letters)]
# The current time; tests replace `app.state.clock` to put windows exactly where they want them.
NowDep = Annotated[datetime, Depends(_now)]
SystemId = Annotated[int, Path(ge=1, description="Id assigned at registration")]
