"""Benchmark: microseconds per evaluation of a 50-row, 5-input decision table, per hit policy,
this engine against pyDMNrules (an independent DMN engine from PyPI) in the same run.

Run from the repository root:  python benchmarks/dmn.py [--rows 50] [--inputs 1000] [--repeat 5]
Both engines read the same generated table (pyDMNrules through this engine's DMN 1.3 export).
Exits non-zero when they disagree on any result, or when a policy is under the 20x target.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.engine.dmn import compile_definitions  # noqa: E402
from tests.rules.engine.dmn.generated_tables import (  # noqa: E402
    HIT_POLICY_CASES,
    generated_inputs,
    generated_table,
)
from tests.rules.engine.dmn.reference import NO_MATCH, reference_engine  # noqa: E402

TARGET = 20.0


def microseconds_per_evaluation(evaluate, inputs, repeat: int) -> float:
    """The best of `repeat` passes over all inputs, in microseconds per evaluation."""
    for data in inputs[:20]:
        evaluate(data)
    passes = []
    for _ in range(repeat):
        start = time.perf_counter()
        for data in inputs:
            evaluate(data)
        passes.append((time.perf_counter() - start) / len(inputs) * 1e6)
    return min(passes)


def disagreements(compiled, reference, inputs) -> int:
    """Inputs where the two engines give different results (DMN errors excepted: see tests)."""
    count = 0
    for data in inputs:
        ours = compiled.evaluate(data)
        expected, _ = reference(data)
        if ours.errors:
            continue  # UNIQUE/ANY violations: pyDMNrules answers the first match instead
        value = ours.outputs["Decide"]
        if expected == NO_MATCH:
            count += value not in (None, [], 0)
        else:
            count += value != expected
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--inputs", type=int, default=1000, help="inputs for this engine")
    parser.add_argument(
        "--reference-inputs", type=int, default=200, help="inputs for pyDMNrules (it is slow)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="passes per engine (best is kept)")
    args = parser.parse_args(argv)

    inputs = generated_inputs(args.inputs, seed=2026)
    reference_inputs = inputs[: args.reference_inputs]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        import pyDMNrules  # noqa: F401 - pySFeel builds its parser tables on import

    print(f"(pyDMNrules import: {time.perf_counter() - start:.1f} s, not counted)")
    print(
        f"{args.rows} rows x 5 inputs, {len(inputs)} inputs (pyDMNrules: {len(reference_inputs)}),"
        f" best of {args.repeat} passes"
    )
    print(
        f"{'hit policy':<16}{'this engine':>12}{'trace on':>10}{'pyDMNrules':>12}{'ratio':>9}"
        f"{'compile ms':>12}"
    )
    failed = False
    for hit_policy, aggregation in HIT_POLICY_CASES:
        definitions = generated_table(hit_policy, aggregation, rows=args.rows, seed=42)
        start = time.perf_counter()
        compiled = compile_definitions(definitions)
        compile_ms = (time.perf_counter() - start) * 1e3
        reference = reference_engine(definitions)
        ours = microseconds_per_evaluation(compiled.evaluate, inputs, args.repeat)
        traced = microseconds_per_evaluation(
            lambda data, compiled=compiled: compiled.evaluate(data, trace=True),
            inputs,
            max(1, args.repeat // 2),
        )
        theirs = microseconds_per_evaluation(reference, reference_inputs, 1)
        ratio = theirs / ours
        label = hit_policy + (f" {aggregation}" if aggregation else "")
        print(
            f"{label:<16}{ours:>10.2f}us{traced:>8.1f}us{theirs:>10.0f}us{ratio:>8.0f}x"
            f"{compile_ms:>12.1f}"
        )
        wrong = disagreements(compiled, reference, reference_inputs)
        if wrong:
            print(f"  {label}: {wrong} inputs where the engines disagree")
            failed = True
        if ratio < TARGET:
            failed = True
    print(f"target: at least {TARGET:.0f}x faster than the reference under every hit policy")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
