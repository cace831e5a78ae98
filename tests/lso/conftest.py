"""A real `lso up` for the terminal commands' tests (`lso status`, `lso tail`), started once for
the package when a test asks for it, and how to run an `lso` command against it."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.up import Up, lso_up


class Looked(Up):
    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of an admin request that must succeed."""
        status, answer = self.call(method, path, body)
        assert status // 100 == 2, f"{method} {path}: {status} {answer!r}"
        return answer

    def register(self, name: str) -> int:
        return int(self.ok("POST", "/systems", {"name": name})["system_id"])


@pytest.fixture(scope="package")
def looked_at(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Looked]:
    with lso_up(tmp_path_factory.mktemp("look") / "data", kind=Looked) as up:
        yield up


def lso_env(**extra: str) -> dict[str, str]:
    """Our environment without any LSO_ variable, plus `extra`; wide enough for whole tables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LSO_")}
    return {**clean, "COLUMNS": "200", **extra}


def run_lso(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lso.cli", *args], cwd=cwd, env=lso_env(**env),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
