"""An ingest call the store ran but whose answer was lost (the connection dropped first) is
settled, not guessed: the API answers 202 and the batch is counted once, or a 503 and it is not in
the stream (shared/ingest/outcome.py). A proxy between the API and the store drops the answer."""

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import redis
from fastapi.testclient import TestClient

from shared.store import keys
from tests.support.events import batch


class DroppingProxy:
    """TCP proxy to the store; `drop_next_answer()` makes it swallow the next answer from the
    store and close that connection (the command itself went through)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._drop = threading.Event()
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next_answer(self) -> None:
        self._drop.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers and self._drop.is_set():
                    self._drop.clear()
                    self.dropped += 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(server_url: str) -> Iterator[DroppingProxy]:
    parts = urlsplit(server_url)
    found = DroppingProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    yield found
    found.close()


def test_an_append_whose_answer_was_lost_is_settled_and_counted_once(
    make_api: Callable[..., TestClient], proxy: DroppingProxy, client: redis.Redis
) -> None:
    api = make_api(redis_url=f"redis://127.0.0.1:{proxy.port}/0")
    sid = api.post("/systems", json={"name": "lost-answer"}).json()["system_id"]
    body = batch(datetime.now(UTC), 7)
    assert api.post(f"/systems/{sid}/events", json=body).status_code == 202  # caches warm
    proxy.drop_next_answer()  # the next call to the store is the append itself
    answer = api.post(f"/systems/{sid}/events", json=body)
    assert proxy.dropped == 1
    partition = keys.partition_of(sid, 4)
    appended = int(client.hget(keys.partition_stats(partition), "events_in") or 0)
    if answer.status_code == 202:
        assert appended == 14, "answered 202: in the stream, once"
    else:
        assert answer.status_code == 503 and appended == 7, "answered 503: not in the stream"
    assert answer.status_code == 202, "the store ran it: settling finds it appended"
