"""The fixed log-scale histogram of execution times that statistics read percentiles from.

Pure Python and SQL text, no database access: the rollup table (executions.rollups), the
TimescaleDB continuous aggregate (executions.timeseries) and the statistics' reads of raw rows
(executions.stats) all bin with the same expression, so their counts add up.

Bins: 8 per octave of milliseconds from 2^-10 ms (0.98 µs) to 2^17 ms (131 s), 216 bins, plus an
underflow bin (under 2^-10 ms, zero times included) and an overflow bin (2^17 ms and more):
`BINS` = 218 counts, in the order of `width_bucket(log2(ms), -10, 17, 216)` (0 = underflow,
217 = overflow) and of TimescaleDB's `histogram(log2(ms), -10, 17, 216)`.

Error bound: a bin's edges differ by a factor r = 2^(1/8); a percentile is read as the geometric
middle of the bin of each order statistic (lo·√r), so each differs from the true one by at most
√r − 1 = 2^(1/16) − 1 = 4.43% of it, and the linear interpolation between two such values (as
PostgreSQL's `percentile_cont` does) keeps that bound. Under 2^-10 ms a time reads as 0 (an
absolute error under 1 µs); from 2^17 ms on it reads as 2^17 ms.
"""

import math

LOW_EXPONENT = -10
HIGH_EXPONENT = 17
BINS_PER_OCTAVE = 8
INNER_BINS = (HIGH_EXPONENT - LOW_EXPONENT) * BINS_PER_OCTAVE  # 216
BINS = INNER_BINS + 2
RELATIVE_ERROR = 2 ** (1 / (2 * BINS_PER_OCTAVE)) - 1  # 0.0443
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}

# log2 of the time; times of 0 (and below 2^-10 ms) land in the underflow bin.
_LOG2_SQL = "(ln(greatest({column}, 1e-12)) / 0.6931471805599453)"


def bin_sql(column: str = "execution_time_ms") -> str:
    """SQL: the bin (0..BINS-1) of a time column, as `width_bucket` numbers it."""
    log2 = _LOG2_SQL.format(column=column)
    return f"width_bucket({log2}, {LOW_EXPONENT}, {HIGH_EXPONENT}, {INNER_BINS})"


def histogram_aggregate_sql(column: str = "execution_time_ms") -> str:
    """SQL: TimescaleDB's `histogram()` aggregate over the same bins (an integer[] of BINS)."""
    log2 = _LOG2_SQL.format(column=column)
    return f"histogram({log2}, {LOW_EXPONENT}, {HIGH_EXPONENT}, {INNER_BINS})"


def bin_of(milliseconds: float) -> int:
    """The bin of one time, as bin_sql computes it (SQLite folds rows in Python)."""
    if milliseconds <= 0:
        return 0
    position = (math.log2(milliseconds) - LOW_EXPONENT) * BINS_PER_OCTAVE
    if position < 0:
        return 0
    return min(int(position) + 1, BINS - 1)


def bin_value(index: int) -> float:
    """The time a bin stands for: its geometric middle (0 for underflow, 2^17 for overflow)."""
    if index <= 0:
        return 0.0
    if index >= BINS - 1:
        return float(2**HIGH_EXPONENT)
    return 2 ** (LOW_EXPONENT + (index - 0.5) / BINS_PER_OCTAVE)


def percentile(counts: dict[int, int], fraction: float) -> float | None:
    """The `fraction` percentile of a histogram {bin: count}, interpolated like percentile_cont."""
    total = sum(counts.values())
    if total <= 0:
        return None
    position = fraction * (total - 1)
    low_rank, high_rank = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if low is None and seen > low_rank:
            low = bin_value(index)
        if seen > high_rank:
            high = bin_value(index)
            break
    return low + (high - low) * (position - low_rank)


def percentiles(counts: dict[int, int]) -> dict[str, float | None]:
    """{"p50": ..., "p95": ..., "p99": ...} of a histogram {bin: count}."""
    return {name: percentile(counts, fraction) for name, fraction in PERCENTILES.items()}


def histogram_add(into: dict[int, int], pairs) -> None:
    """Add (bin, count) pairs to a sparse histogram {bin: count}."""
    for index, count in pairs:
        if count:
            into[index] = into.get(index, 0) + count
