"""client/README.md works as written: its Python examples run against a real `lso up` and report
without a refusal, its shell examples run when pasted (tests/docs/test_examples.py's conventions,
with the venv's `python3` and `lso-run` first on PATH, as after `. .venv/bin/activate`), and its
configuration table is the Config dataclass's."""

import dataclasses
import os
import re
import sys
from pathlib import Path

import pytest

from lso_client import AsyncLSOClient, Config, LSOClient
from tests.docs import test_examples
from tests.docs.test_examples import Deployment, blocks, rewrite, run_block, shell_blocks
from tests.support.processes import REPO

pytestmark = pytest.mark.process
deployment = test_examples.deployment  # the docs' `lso up` fixture, one for this module
PAGE = REPO / "client" / "README.md"


def test_every_fenced_block_says_what_it_is() -> None:
    assert [b.where for b in blocks(PAGE) if not b.lang] == []


def test_every_python_example_reports_without_a_refusal(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSO_URL", f"http://127.0.0.1:{deployment.port}")
    monkeypatch.setenv("LSO_KEY", (deployment.data_dir / "admin-token").read_text().strip())
    examples = [b for b in blocks(PAGE) if b.lang == "python"]
    assert len(examples) >= 5
    for block in examples:
        namespace: dict[str, object] = {"__name__": "readme_example"}
        exec(compile(block.text, block.where, "exec"), namespace)
        clients = [c for c in namespace.values() if isinstance(c, LSOClient | AsyncLSOClient)]
        for client in clients:
            sync = client.sync if isinstance(client, AsyncLSOClient) else client
            assert sync.flush(30), block.where
            assert (sync.rejected, sync.unresolved, sync.dropped) == (0, 0, 0), block.where
            sync.close(10)


def test_every_shell_example_works_when_pasted(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / ".lso").symlink_to(deployment.data_dir)
    state = tmp_path / ".example-state.sh"
    state.write_text("")
    examples = shell_blocks(PAGE)
    assert examples, "the page shows lso-run"
    for block in examples:
        script = rewrite(block.text, deployment.port, "http://127.0.0.1:9")
        code, printed = run_block(block, script, tmp_path, state)
        assert code == 0, f"{block.where} exited with {code}:\n{script}--- output:\n{printed}"


def test_the_configuration_table_is_the_config_dataclass() -> None:
    section = PAGE.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.M))
    fields = {f.name: f.default for f in dataclasses.fields(Config)}
    assert set(rows) == set(fields)
    for name, default in fields.items():
        if name not in ("url", "key"):  # they say where they come from
            assert rows[name].strip() == str(default), name
