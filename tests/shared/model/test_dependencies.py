"""Which failing upstreams a downstream names: the failing roots of its upstream closure."""

from shared.model.dependencies import Failing, Graph, failing_roots
from shared.model.verdict import Verdict


def test_failing_roots_name_the_failing_upstreams_nothing_failing_explains() -> None:
    # a -> b -> d, a -> c -> d, e -> d
    graph = Graph(1, {2: (1,), 3: (1,), 4: (2, 3, 5)}, {1: (2, 3), 2: (4,), 3: (4,), 5: (4,)})
    failing = {1, 2, 3, 5}

    def recorded(sid: int) -> Failing:
        return Failing(Verdict.UNHEALTHY if sid in failing else Verdict.OK, 0)

    assert failing_roots(graph, 4, recorded) == [1, 5]
    assert failing_roots(graph, 2, recorded) == [1]
    assert failing_roots(graph, 1, recorded) == []  # no upstream: the one cheap check
    failing.discard(1)
    assert failing_roots(graph, 4, recorded) == [2, 3, 5]
