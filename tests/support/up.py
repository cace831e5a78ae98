"""A real `lso up` for the tests that prove a client against the whole service (the SDK, the
OpenLineage and OTLP clients): started on a free port and data dir, its output drained (a full
pipe would block it), ready when `/readyz` says so, stopped at the end."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any, TypeVar

from lso.embedded import free_port
from tests.support.processes import spawn_lso, stop
from tests.support.wait import wait_for


@dataclass
class Up:
    process: Popen[bytes]
    port: int
    data_dir: Path
    log: list[bytes] = field(default_factory=list)
    exit_code: int | None = None  # once stopped

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        """The admin key `lso up` made."""
        return (self.data_dir / "admin-token").read_text().strip()

    def tail(self) -> str:
        return b"".join(self.log).decode(errors="replace")[-4000:]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one request, as the admin unless `key` says otherwise."""
        sent = {"Authorization": f"Bearer {key or self.admin}", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read()

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """(status, JSON answer) of a JSON request."""
        data = None if body is None else json.dumps(body).encode()
        status, _, answer = self.request(method, path, data,
                                         {"Content-Type": "application/json"}, token)  # fmt: skip
        return status, json.loads(answer or b"null")

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, (path, status, answer)
        return answer


U = TypeVar("U", bound=Up)


@contextmanager
def lso_up(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    kind: type[U] = Up,  # type: ignore[assignment]
) -> Iterator[U]:
    """`lso up --workers 1 --job-processes 1 [args]` until the block ends, as a `kind` (an Up
    with a test module's own readings); `exit_code` is set once it stopped."""
    port = free_port()
    process = spawn_lso("up", "--port", str(port), "--workers", "1", "--job-processes", "1",
                        "--data-dir", str(data_dir), *args, env=env or {})  # fmt: skip
    up = kind(process, port, data_dir)
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: up.log.extend(process.stdout or []), daemon=True)
    reader.start()

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"lso up exited with {process.returncode}:\n{up.tail()}")
        with urllib.request.urlopen(up.url + "/readyz", timeout=2) as answer:
            return bool(answer.status == 200)

    try:
        wait_for(ready, 60, "lso up to be ready", ignore=(OSError,))
        yield up
    finally:
        up.exit_code = stop(process)
        reader.join(10)
        process.stdout.close()
