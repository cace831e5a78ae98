"""A real `lso up` for the tests that prove a third-party client against the whole service."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

from lso.embedded import free_port
from tests.support.processes import Spawn
from tests.support.wait import wait_for


@dataclass
class Up:
    process: Popen[bytes]
    port: int
    admin: str  # the admin key `lso up` made

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """(status, JSON answer) of one request, as the admin unless `token` says otherwise."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {token or self.admin}"}  # fmt: skip
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, (path, status, answer)
        return answer


def start_up(spawn: Spawn, data_dir: Path, env: dict[str, str] | None = None) -> Up:
    """`lso up` on a fresh port and data dir (one worker), once it is ready."""
    port = free_port()
    argv = ("up", "--port", str(port), "--workers", "1", "--data-dir", str(data_dir))
    process = spawn(*argv, env=env or {})

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            assert process.poll() is None, "lso up exited"
            return False

    wait_for(ready, 60, "lso up to be ready")
    return Up(process, port, (data_dir / "admin-token").read_text().strip())
