"""How the commands that talk to the API (`lso status`, `lso tail`) find it and a key for it.

`lso up` writes `api.json` into its data dir when it starts (`{"url": "http://127.0.0.1:8000"}`,
the address it serves on as a local client reaches it) and removes it when it stops; the admin key
it made is `admin-token` beside it. By default the commands use both from `--data-dir` (./.lso).
`--url` names another API; the key is then `--key`, or LSO_ADMIN_TOKEN: the data dir's key is
sent only to the API of the same data dir, never to an address given by hand.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

API_RECORD = "api.json"
ADMIN_TOKEN = "admin-token"
_HINT = "start it with scripts/run, or pass --url URL"


class EndpointError(Exception):
    """No API to talk to; `str()` is one line for the terminal."""


@dataclass(frozen=True)
class Target:
    url: str  # without a trailing slash
    key: str | None
    key_from: str  # where the key came from, for the message when it is refused


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for an API bound to `host`:`port`."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def write_record(data_dir: Path, host: str, port: int) -> Path:
    """Leave the API's address for the other commands (atomically: no reader sees half)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / API_RECORD
    partial = data_dir / f".{API_RECORD}.partial"
    partial.write_text(json.dumps({"url": local_url(host, port)}) + "\n")
    partial.replace(path)
    return path


def remove_record(data_dir: Path) -> None:
    (data_dir / API_RECORD).unlink(missing_ok=True)


def find(url: str | None, key: str | None, data_dir: Path) -> Target:
    """The API and key to use: `url` or the one recorded in `data_dir`; `key`, else
    LSO_ADMIN_TOKEN, else (for the recorded API only) the data dir's admin key, else none."""
    env_key = os.environ.get("LSO_ADMIN_TOKEN") or None
    if url is not None:
        found_url = url.rstrip("/")
        if not found_url.startswith(("http://", "https://")):
            raise EndpointError(f"--url must start with http:// or https:// (got {url!r})")
        token_file = None
    else:
        path = data_dir.resolve() / API_RECORD
        try:
            found_url = str(json.loads(path.read_text())["url"]).rstrip("/")
        except FileNotFoundError:
            raise EndpointError(
                f"no running `lso up` found in {data_dir.resolve()} ({_HINT}, or --data-dir DIR)"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EndpointError(f"cannot read {path} ({exc}); restart `lso up`") from None
        token_file = data_dir.resolve() / ADMIN_TOKEN
    if key is not None:
        return Target(found_url, key, "--key")
    if env_key is not None:
        return Target(found_url, env_key, "LSO_ADMIN_TOKEN")
    if token_file is not None:
        try:
            return Target(found_url, token_file.read_text().strip() or None, str(token_file))
        except OSError:
            pass  # LSO_AUTH=off, or a key set by LSO_ADMIN_TOKEN for `lso up`: none here
    return Target(found_url, None, "no key (pass --key KEY)")
