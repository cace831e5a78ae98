"""`lso jobs` as a real process beside the API and a stream worker: its ticker evaluates on its
own, a health change reaches a receiver, and SIGTERM stops it cleanly."""

import time

import pytest

from tests.support.processes import Spawn, output, stop
from tests.support.receiver import Receiver
from tests.support.servers import Server
from tests.support.stack import Client, Stack
from tests.support.wait import wait_for

pytestmark = pytest.mark.process


def test_lso_jobs_tells_a_receiver_about_an_outage_on_its_own(
    spawn: Spawn, server: Server, server_url: str, receiver: Receiver
) -> None:
    env = {"LSO_ALLOW_PRIVATE_WEBHOOKS": "1", "LSO_NOTIFY_MIN_INTERVAL_S": "0"}
    stack = Stack(spawn, server, env).start(workers=1)
    jobs = spawn("jobs", env=stack.env)
    sid = stack.register("watched")
    status, _ = stack.call("PUT", f"/systems/{sid}/policy", {"window_seconds": 60})
    assert status == 200
    hook = {"kind": "webhook", "url": f"{receiver.url}/hook"}
    assert stack.call("POST", f"/systems/{sid}/channels", hook)[0] == 201

    client = Client(stack, sid, [50] * 3)  # every fifth event an error: 20 % → DEGRADED
    client.start()
    client.join(30)
    started = time.monotonic()
    wait_for(lambda: receiver.requests, 30, "the notification")
    told = receiver.requests[0].json()
    assert (told["to"], told["system"]["id"]) == ("DEGRADED", sid)
    print(f"\n[lso jobs] told {time.monotonic() - started:.2f} s after the last batch")
    assert stop(jobs) == 0, output(jobs)
