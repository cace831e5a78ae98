"""bench/evaluator.py still runs end to end (a tiny fleet): it asserts nothing about speed."""

import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.process]


@pytest.mark.timeout(300)
def test_the_evaluator_benchmark_evaluates_every_system_of_its_fleet() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.evaluator", "--systems", "30", "--passes", "2"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    passes = re.findall(r"pass (\d): (\d+) systems, .* (\d+) µs CPU a system", done.stdout)
    assert [(n, systems) for n, systems, _ in passes] == [("1", "30"), ("2", "30")], done.stdout
