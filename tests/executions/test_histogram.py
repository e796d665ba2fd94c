"""executions.histogram: the bins and the documented error bound of its percentiles."""

import math
import random

import pytest

from executions.histogram import (
    BINS,
    RELATIVE_ERROR,
    bin_of,
    bin_value,
    histogram_add,
    percentile,
    percentiles,
)


def percentile_cont(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between order statistics."""
    values = sorted(values)
    position = fraction * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def histogram_of(values: list[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    histogram_add(counts, [(bin_of(value), 1) for value in values])
    return counts


def test_the_bound_is_4_43_percent():
    assert pytest.approx(0.0443, abs=1e-4) == RELATIVE_ERROR
    assert BINS == 218


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_stay_within_the_bound_of_percentile_cont(seed):
    generator = random.Random(seed)
    # Log-uniform from 1 µs to 100 s, plus a tight cluster (one bin) and duplicates.
    values = [10 ** generator.uniform(-3, 5) for _ in range(generator.randint(1, 2000))]
    values += [3.0 + generator.random() * 0.01 for _ in range(generator.randint(0, 50))]
    counts = histogram_of(values)
    for fraction in (0.0, 0.5, 0.95, 0.99, 1.0):
        exact = percentile_cont(values, fraction)
        estimate = percentile(counts, fraction)
        assert abs(estimate - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9), (fraction, exact)


def test_every_bin_value_lies_inside_its_bin():
    for index in range(1, BINS - 1):
        assert bin_of(bin_value(index)) == index
    assert bin_of(0.0) == 0 and bin_value(0) == 0.0  # zero times read as zero
    assert bin_of(2**-11) == 0
    assert bin_of(2**17) == BINS - 1 and bin_of(10**9) == BINS - 1
    assert bin_of(2**-10) == 1


def test_an_empty_histogram_has_no_percentiles():
    assert percentiles({}) == {"p50": None, "p95": None, "p99": None}
    assert percentile({5: 0}, 0.5) is None
