"""Every shell example of the README and of docs/ works when pasted: each ```sh (```bash,
```shell) block runs, in the order of its page, against a real `lso up`.

Conventions, so that the pages read as what a reader pastes and the test still runs them:
- The pages talk to `scripts/run` at `localhost:8000` and read the admin key from
  `.lso/admin-token`, as a reader at the repository root does. The test starts its own `lso up`
  on a free port with a temporary data dir, rewrites `localhost:8000` / `127.0.0.1:8000` to that
  port, and runs the blocks of a page in a fresh working directory whose `.lso` is a link to that
  data dir (so `.lso/admin-token`, and `scripts/lso` finding the store by `./.lso`, work as
  written).
- `scripts/lso` becomes `python -m lso.cli` with the interpreter running the tests: the same
  `lso`, without the wrapper's install-on-first-use step, which has no place in a test. Any other
  `scripts/...` at the start of a word becomes the repository's script, and `.venv/bin/...` the
  test interpreter's own (where `scripts/run` installs the SDK and `lso-run`).
- `127.0.0.1:9000` is the reader's own webhook receiver; the test rewrites it to a local
  receiver that records every POST (tests/support/receiver.py). `lso up` runs with
  LSO_ALLOW_PRIVATE_WEBHOOKS=1, as the page that uses it tells the reader to.
- The blocks of a page run in order, each in its own `bash` with `set -euo pipefail` and a time
  limit; the shell variables a block sets (ADMIN, SID, KEY, ...) are handed to the later blocks
  of the same page. Each page registers its own systems, so a page also runs on its own.
- A block passes when it exits 0; examples use `curl -fsS`, so an HTTP error fails the block.
  An example that shows an error says which status it expects (`test "$status" = 422`).
- Output shown to readers is in ```text / ```json / ```console blocks, never run.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lso.embedded import free_port
from tests.support.processes import REPO, spawn_lso, stop
from tests.support.receiver import Receiver
from tests.support.wait import wait_for

pytestmark = pytest.mark.process

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]
SHELL = {"sh", "bash", "shell"}
BLOCK_TIMEOUT_S = 30.0
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<lang>[^\s`]*)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with its language tag ("" when untagged)."""
    found: list[Block] = []
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        assert j < len(lines), f"{page.relative_to(REPO)}:{i + 1}: the fence is never closed"
        found.append(Block(page, i + 1, opening["lang"], "\n".join(body) + "\n"))
        i = j + 1
    return found


def shell_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang in SHELL]


@dataclass
class Deployment:
    port: int
    data_dir: Path
    log: list[bytes]

    def tail(self) -> str:
        return b"".join(self.log).decode(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One `lso up` for every page, as `scripts/run` would start it (fewer processes)."""
    data_dir = tmp_path_factory.mktemp("lso-up") / "data"
    up = spawn_lso(
        "up", "--port", str(port := free_port()), "--workers", "1", "--job-processes", "1",
        "--data-dir", str(data_dir),
        env={"LSO_ALLOW_PRIVATE_WEBHOOKS": "1"},
    )  # fmt: skip
    deployment = Deployment(port, data_dir, [])

    # Read its log all along: a full pipe would block the processes that write to it.
    def drain() -> None:
        assert up.stdout is not None
        for line in up.stdout:
            deployment.log.append(line)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()

    def ready() -> bool:
        if up.poll() is not None:
            reader.join(5)
            raise AssertionError(f"lso up exited with {up.returncode}:\n{deployment.tail()}")
        probe = ["curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{port}/readyz"]
        return subprocess.run(probe, capture_output=True, timeout=5).returncode == 0

    try:
        wait_for(ready, 60, "lso up to be ready")
        yield deployment
    finally:
        code = stop(up)
        reader.join(10)
        if up.stdout is not None:
            up.stdout.close()
        assert code == 0, f"lso up exited with {code}:\n{deployment.tail()}"


def rewrite(text: str, port: int, receiver: str) -> str:
    text = re.sub(r"\b(localhost|127\.0\.0\.1):8000\b", f"127.0.0.1:{port}", text)
    text = re.sub(r"\b127\.0\.0\.1:9000\b", receiver.removeprefix("http://"), text)
    text = re.sub(r"(?<![\w./-])scripts/lso\b", f"{shlex.quote(sys.executable)} -m lso.cli", text)
    text = re.sub(r"(?<![\w./-])\.venv/bin/", f"{Path(sys.executable).parent}/", text)
    return re.sub(r"(?<![\w./-])scripts/", f"{REPO}/scripts/", text)


# Runs one block and writes the variables it set (those the clean shell does not have) to
# $STATE for the next block. `declare -p` output can be sourced again as it is.
PRELUDE = """\
set -euo pipefail
__lso_baseline=" $(compgen -v | tr '\\n' ' ') "
source "$STATE"
__lso_save() {
  local name
  for name in $(compgen -v); do
    case "$__lso_baseline" in *" $name "*) continue ;; esac
    case "$name" in __lso_*|name|_|BASH*|COPROC*|FUNCNAME|PIPESTATUS|OPT*|REPLY) continue ;; esac
    declare -p "$name"
  done > "$STATE.next"
  mv "$STATE.next" "$STATE"
}
"""


def run_block(block: Block, script: str, cwd: Path, state: Path) -> tuple[int | None, str]:
    """Exit status (None on timeout) and everything the block printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSO_")}
    process = subprocess.Popen(
        ["bash", "-c", f"{PRELUDE}\n{script}\n__lso_save\n", block.where],
        cwd=cwd,
        env={**env, "STATE": str(state)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the block's children die with it on a timeout
    )
    try:
        out, _ = process.communicate(timeout=BLOCK_TIMEOUT_S)
        return process.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        return None, out.decode(errors="replace")


RUNNABLE = [page for page in PAGES if page.exists() and shell_blocks(page)]


def test_every_fenced_block_says_what_it_is() -> None:
    """An untagged block could be a shell example that is never run: tag it ```text if not.
    (docs/architecture.md is left out: its untagged blocks are diagrams.)"""
    pages = [p for p in PAGES if p.exists() and p != REPO / "docs" / "architecture.md"]
    untagged = [b.where for page in pages for b in blocks(page) if not b.lang]
    assert not untagged, f"fenced blocks without a language tag: {untagged}"


def test_the_pages_have_shell_examples() -> None:
    pages = {p.relative_to(REPO).as_posix() for p in RUNNABLE}
    assert pages >= {
        "README.md", "docs/api.md", "docs/health.md", "docs/notifications.md",
        "docs/operations.md", "docs/security.md",
    }  # fmt: skip


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shell_example_of_the_page_works_when_pasted(
    page: Path, deployment: Deployment, receiver: Receiver, tmp_path: Path
) -> None:
    (tmp_path / ".lso").symlink_to(deployment.data_dir)
    state = tmp_path / ".example-state.sh"
    state.write_text("")
    for block in shell_blocks(page):
        script = rewrite(block.text, deployment.port, receiver.url)
        started = time.monotonic()
        code, printed = run_block(block, script, tmp_path, state)
        what = "timed out" if code is None else f"exited with {code}"
        assert code == 0, (
            f"{block.where} {what} after {time.monotonic() - started:.1f} s "
            f"(the blocks after it were not run):\n{script}--- output:\n{printed}"
        )
    if page.name == "notifications.md":
        check_the_signature_example(page, receiver, tmp_path)


def check_the_signature_example(page: Path, receiver: Receiver, cwd: Path) -> None:
    """The page's webhook reached the receiver, and the page's own `verify` accepts it."""
    code = next(b.text for b in blocks(page) if b.lang == "python" and "def verify" in b.text)
    namespace: dict[str, object] = {}
    exec(compile(code, f"{page}:verify", "exec"), namespace)
    verify = namespace["verify"]
    assert callable(verify)
    got = wait_for(lambda: receiver.at("/lso"), 30, "the page's webhook at the receiver")
    secret = channel_secret(cwd)
    assert verify(secret, got[0].headers, got[0].body), "the documented check refuses LSO's request"
    assert not verify(secret, got[0].headers, got[0].body + b" "), "it accepts a changed body"


def channel_secret(cwd: Path) -> str:
    """The signing secret of the channel the page created (it saves the answer in channel.json)."""
    return str(json.loads((cwd / "channel.json").read_text())["secret"])


def test_rewrite_follows_the_conventions() -> None:
    text = ("curl localhost:8000/x; scripts/lso partitions; scripts/run; ./scripts/x; "
            "127.0.0.1:9000; .venv/bin/lso-run; x/.venv/bin/y")  # fmt: skip
    rewritten = rewrite(text, 1234, "http://127.0.0.1:5555")
    assert rewritten == (
        f"curl 127.0.0.1:1234/x; {shlex.quote(sys.executable)} -m lso.cli partitions; "
        f"{REPO}/scripts/run; ./scripts/x; 127.0.0.1:5555; {Path(sys.executable).parent}/lso-run; "
        "x/.venv/bin/y"
    )
