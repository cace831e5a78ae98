from collections.abc import Callable, Iterator
from subprocess import Popen

import pytest

from tests.lso.processes import output, spawn_lso, stop

Spawn = Callable[..., Popen[bytes]]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """`spawn("worker", env={...})`: an `lso` process, stopped after the test at the latest."""
    started: list[Popen[bytes]] = []

    def start(*args: str, env: dict[str, str]) -> Popen[bytes]:
        started.append(spawn_lso(*args, env=env))
        return started[-1]

    yield start
    for process in started:
        stop(process)
        if process.stdout and not process.stdout.closed:
            output(process)
