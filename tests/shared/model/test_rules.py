from collections import Counter

import pytest

from shared.model.policy import Policy, effective
from shared.model.rules import Inputs, evaluate
from shared.model.stats import StagedStats, Stats
from shared.model.verdict import Verdict
from shared.settings import Settings


@pytest.mark.parametrize(
    ("total", "errors", "verdict", "reason"),
    [
        (0, 0, Verdict.NO_DATA, "no events in the last 300 s"),
        (100, 4, Verdict.OK, "within thresholds: error rate 0.04 < 0.05"),
        (100, 5, Verdict.DEGRADED, "error rate 0.05 ≥ 0.05"),
        (100, 12, Verdict.DEGRADED, "error rate 0.12 ≥ 0.05"),
        (100, 50, Verdict.UNHEALTHY, "error rate 0.5 ≥ 0.5"),
        (3, 3, Verdict.UNHEALTHY, "error rate 1 ≥ 0.5"),
    ],
)
def test_default_thresholds(total: int, errors: int, verdict: Verdict, reason: str) -> None:
    window = StagedStats(all=Stats(total, errors, Counter({"100": total})))
    policy = effective(Policy(), Settings())
    found, why, _ = evaluate(Inputs(policy, 0.0, window, None, 0.0))
    assert (found, why) == (verdict, reason)
