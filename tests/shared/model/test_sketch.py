import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.model.sketch import ALPHA, ZERO_BUCKET, bucket_of, bucket_value, quantiles


def exact_nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def histogram_of(values: list[float]) -> dict[str, int]:
    hist: dict[str, int] = {}
    for v in values:
        hist[bucket_of(v)] = hist.get(bucket_of(v), 0) + 1
    return hist


def within_alpha(estimate: float, exact: float) -> bool:
    return abs(estimate - exact) <= ALPHA * exact * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_within_one_percent_on_random_latencies(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(3, 1.5) for _ in range(20_000)] + [0.0] * 50
    qs = (0.5, 0.9, 0.95, 0.99, 0.999)
    for q, estimate in zip(qs, quantiles(histogram_of(values), qs), strict=True):
        assert within_alpha(estimate, exact_nearest_rank(values, q)), q


@given(
    st.lists(
        st.floats(min_value=0, max_value=1e10, allow_nan=False) | st.just(0.0),
        min_size=1,
        max_size=300,
    ),
    st.floats(min_value=0.01, max_value=1.0),
)
def test_any_quantile_of_any_values_within_alpha(values: list[float], q: float) -> None:
    (estimate,) = quantiles(histogram_of(values), (q,))
    assert within_alpha(estimate, exact_nearest_rank(values, q))


def test_zero_has_its_own_bucket_reported_as_zero() -> None:
    assert bucket_of(0.0) == ZERO_BUCKET
    assert bucket_value(ZERO_BUCKET) == 0.0
    assert quantiles({ZERO_BUCKET: 3, bucket_of(5.0): 1}, (0.5, 1.0))[0] == 0.0


def test_empty_histogram_reports_zeros() -> None:
    assert quantiles({}, (0.5, 0.99)) == (0.0, 0.0)
