"""Benchmark: microseconds per evaluation with exact pattern keys only (as before wildcards) and
with wildcard keys and a default recommendation, on the benchmark ruleset, in one run.

Run from the repository root:  python benchmarks/patterns.py [--bench-dir DIR] [--repeat N]

Four key sets over the same 50 rules and 1,000 inputs (969 distinct results, 23 of them with an
exact key):
- exact: the ruleset's 20 exact keys (today's model);
- exact + default: the same keys and a default recommendation;
- wildcards + default: the same exact keys, 20 wildcard keys (each exact key with 10 positions
  made `*`) and a default recommendation, so nearly every input misses the exact keys;
- wildcards only + default: every key with wildcards, so every input takes the wildcard path.
"Cold" forgets the answers remembered for missed results before each pass, so every distinct
result pays the wildcard search (as never-seen traffic would); "warm" keeps them.
Times are this process's CPU time (time.process_time), so other work on a busy machine counts
less than in wall-clock time. Exits non-zero when a wildcard answer differs from a reference
matcher written the slow way.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.engine import DEFAULT_BENCH_DIR, load  # noqa: E402
from rules.engine import compile_ruleset  # noqa: E402
from rules.engine.converters import spec_from_flat  # noqa: E402

WILDCARD_POSITIONS = 10
DEFAULT_RECOMMENDATION = "Manual review"


def with_wildcards(spec: dict, *, keep_exact: bool) -> dict:
    """The spec with a wildcard key derived from each exact key, and a default recommendation."""
    spec = copy.deepcopy(spec)
    chooser = random.Random(14)
    derived = []
    for pattern in spec["patterns"]:
        key = list(pattern["pattern_key"])
        for position in chooser.sample(range(len(key)), WILDCARD_POSITIONS):
            key[position] = "*"
        derived.append({**pattern, "pattern_key": "".join(key)})
    spec["patterns"] = (spec["patterns"] if keep_exact else []) + derived
    spec["ruleset"]["default_recommendation"] = DEFAULT_RECOMMENDATION
    return spec


def reference_answer(spec: dict, result: str):
    """The most specific key matching `result`, found the slow way, or the default."""
    matching = [
        p
        for p in spec["patterns"]
        if len(p["pattern_key"]) == len(result)
        and all(k in ("*", r) for k, r in zip(p["pattern_key"], result, strict=True))
    ]
    if not matching:
        return spec["ruleset"].get("default_recommendation")
    best = min(matching, key=lambda p: (p["pattern_key"].count("*"), p["pattern_key"]))
    return best["action_recommendation"]


def microseconds(specs: dict, inputs: list, repeat: int, *, cold: bool) -> dict:
    """Best of `repeat` passes per spec, microseconds per evaluation; the specs' passes take
    turns, so that a busier moment of the machine hits each of them alike."""
    compiled = {label: compile_ruleset(spec) for label, spec in specs.items()}
    for ruleset in compiled.values():
        for data in inputs:
            ruleset.evaluate(data)
    passes: dict = {label: [] for label in specs}
    for _ in range(repeat):
        for label, ruleset in compiled.items():
            if cold:
                # Forget the answers remembered for missed results (a private of the engine:
                # the benchmark measures the first sight of every result, as new traffic would).
                ruleset._pattern_table._memo.clear()
            evaluate = ruleset.evaluate
            # CPU time of this process: other work on a busy machine does not count.
            start = time.process_time()
            for data in inputs:
                evaluate(data)
            passes[label].append((time.process_time() - start) / len(inputs) * 1e6)
    return {label: min(values) for label, values in passes.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument("--repeat", type=int, default=30, help="passes per figure (best kept)")
    args = parser.parse_args(argv)

    flat, inputs = load(args.bench_dir)
    exact = spec_from_flat(flat, name="bench")
    mixed = with_wildcards(exact, keep_exact=True)
    wildcards_only = with_wildcards(exact, keep_exact=False)

    wrong = 0
    for spec in (mixed, wildcards_only):
        compiled = compile_ruleset(spec)
        for data in inputs:
            evaluation = compiled.evaluate(data)
            if evaluation.action_recommendation != reference_answer(
                spec, evaluation.pattern_result
            ):
                wrong += 1
    answered = {}
    for label, spec in (("exact", exact), ("mixed", mixed), ("wildcards", wildcards_only)):
        compiled = compile_ruleset(spec)
        traced = [compiled.evaluate(data, trace=True).pattern_match["kind"] for data in inputs]
        answered[label] = {kind: traced.count(kind) for kind in set(traced)}

    with_default = copy.deepcopy(exact)
    with_default["ruleset"]["default_recommendation"] = DEFAULT_RECOMMENDATION
    specs = {
        "exact keys (today)": exact,
        "exact keys + default": with_default,
        "exact + wildcard keys + default": mixed,
        "wildcard keys only + default": wildcards_only,
    }
    figures = {}
    for temperature in ("cold", "warm"):
        measured = microseconds(specs, inputs, args.repeat, cold=temperature == "cold")
        for label, value in measured.items():
            figures[(label, temperature)] = value

    print(
        f"{len(exact['rules'])} rules, {len(inputs)} inputs, best of {args.repeat} passes; "
        f"{WILDCARD_POSITIONS} of {len(exact['rules'])} positions wildcarded per derived key"
    )
    for label, counts in answered.items():
        print(
            f"  answers ({label}): "
            + ", ".join(f"{k}: {n}" for k, n in sorted(counts.items(), key=str))
        )
    print(f"{'key set':<36}{'memo':>6}{'us/eval':>10}{'ratio':>9}")
    worst = 0.0
    for (label, temperature), value in figures.items():
        base = figures[("exact keys (today)", temperature)]
        ratio = value / base
        worst = max(worst, ratio)
        print(f"{label:<36}{temperature:>6}{value:>10.2f}{ratio:>8.3f}x")
    print(f"worst ratio to exact keys: {worst:.3f}x (target within 1.10x)")
    print(
        "answers checked against a slow reference matcher: "
        + ("all agree" if not wrong else f"{wrong} DISAGREE")
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
