"""Real servers for the test suite: a throwaway PostgreSQL cluster and an in-memory TimescaleDB."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The benchmark data set (the 50-rule flat ruleset and its 1,000 inputs), one copy for the
# benchmarks and the tests that use it.
BENCHMARK_DATA = REPO_ROOT / "benchmarks" / "data"
BENCHMARK_RULESET = BENCHMARK_DATA / "ruleset_50_flat.json"
# Documents and inputs the tests import and evaluate (flat, structured and their catalogs).
TEST_DATA = REPO_ROOT / "tests" / "data"
