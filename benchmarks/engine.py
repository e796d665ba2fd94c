"""Benchmark: microseconds per evaluation of this engine, rule-engine and zen-engine.

Run from the repository root:  python benchmarks/engine.py [--bench-dir DIR] [--repeat N]
Exits non-zero when the engines disagree on any pattern result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.engine import compile_ruleset  # noqa: E402
from rules.engine.converters import spec_from_flat  # noqa: E402

DEFAULT_BENCH_DIR = Path(__file__).resolve().parent / "data"

# The flat file's operators as rule-engine expressions (the original system) and zen unary tests.
RULE_ENGINE_SYMBOLS = {
    "equal": "==",
    "not_equal": "!=",
    "greater_than": ">",
    "greater_than_or_equal": ">=",
    "less_than": "<",
    "less_than_or_equal": "<=",
}
ZEN_SYMBOLS = {**RULE_ENGINE_SYMBOLS, "equal": ""}


def load(bench_dir: Path):
    """The flat ruleset and the inputs."""
    flat = json.loads((bench_dir / "ruleset_50_flat.json").read_text())
    with (bench_dir / "inputs_1000.jsonl").open() as lines:
        inputs = [json.loads(line) for line in lines if line.strip()]
    return flat, inputs


def ordered_rules(flat: dict) -> list[dict]:
    """The flat rules in execution order: ascending priority, ties in file order."""
    return sorted(flat["rules_set"], key=lambda rule: rule.get("priority", 0))


def rule_engine_evaluator(flat: dict):
    """The original system's core: a compiled rule_engine.Rule per rule, and the pattern loop."""
    import rule_engine

    context = rule_engine.Context(default_value=None)
    compiled = [
        (
            rule_engine.Rule(
                f"{rule['attribute']} {RULE_ENGINE_SYMBOLS[rule['condition']]} {rule['constant']}",
                context=context,
            ),
            rule.get("action_result", "Y"),
            rule.get("rule_point", 0) * rule.get("weight", 1.0),
        )
        for rule in ordered_rules(flat)
    ]
    patterns = flat.get("patterns", {})

    def evaluate(data):
        pattern = []
        total = 0.0
        for rule, action_result, points in compiled:
            if rule.matches(data):
                pattern.append(action_result)
                total += points
            else:
                pattern.append("-")
        pattern_result = "".join(pattern)
        return pattern_result, total, patterns.get(pattern_result)

    return evaluate


def zen_evaluator(flat: dict):
    """GoRules' zen-engine: the same rules as one decision table with the `collect` hit policy."""
    import zen

    rules = ordered_rules(flat)
    attributes = sorted({rule["attribute"] for rule in rules})
    inputs = [
        {"id": f"in_{attribute}", "name": attribute, "field": attribute} for attribute in attributes
    ]
    rows = []
    for position, rule in enumerate(rules):
        row = {"_id": f"row{position}", "out_position": str(position)}
        for attribute in attributes:
            row[f"in_{attribute}"] = ""
        row[f"in_{rule['attribute']}"] = (
            f"{ZEN_SYMBOLS[rule['condition']]} {rule['constant']}".strip()
        )
        rows.append(row)
    content = {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}},
            {
                "id": "table",
                "type": "decisionTableNode",
                "name": "rules",
                "position": {"x": 200, "y": 0},
                "content": {
                    "hitPolicy": "collect",
                    "inputs": inputs,
                    "outputs": [{"id": "out_position", "name": "position", "field": "position"}],
                    "rules": rows,
                },
            },
            {
                "id": "response",
                "type": "outputNode",
                "name": "response",
                "position": {"x": 400, "y": 0},
            },
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "table", "type": "edge"},
            {"id": "e2", "sourceId": "table", "targetId": "response", "type": "edge"},
        ],
    }
    decision = zen.ZenEngine().create_decision(json.dumps(content))
    results = [rule.get("action_result", "Y") for rule in rules]
    points = [rule.get("rule_point", 0) * rule.get("weight", 1.0) for rule in rules]
    patterns = flat.get("patterns", {})

    def evaluate(data):
        hits = {row["position"] for row in decision.evaluate(data)["result"]}
        pattern = []
        total = 0.0
        for position, action_result in enumerate(results):
            if position in hits:
                pattern.append(action_result)
                total += points[position]
            else:
                pattern.append("-")
        pattern_result = "".join(pattern)
        return pattern_result, total, patterns.get(pattern_result)

    return evaluate


def microseconds_per_evaluation(evaluate, inputs, repeat: int) -> float:
    """The best of `repeat` passes over all inputs, in microseconds per evaluation."""
    for data in inputs[:50]:
        evaluate(data)
    passes = []
    for _ in range(repeat):
        start = time.perf_counter()
        for data in inputs:
            evaluate(data)
        passes.append((time.perf_counter() - start) / len(inputs) * 1e6)
    return min(passes)


def large_ruleset(flat: dict, size: int) -> dict:
    """A flat ruleset of `size` rules made by repeating the benchmark's rules under new ids."""
    source = flat["rules_set"]
    rules = []
    for number in range(size):
        rule = dict(source[number % len(source)])
        rule["id"] = f"L{number:05d}"
        rule["priority"] = number
        rules.append(rule)
    return {"rules_set": rules, "patterns": {}}


def compile_figures(flat: dict, size: int) -> tuple[float, float]:
    """(seconds to convert and compile a `size`-rule ruleset, bytes of memory per compiled rule)."""
    spec = spec_from_flat(large_ruleset(flat, size), name="large")
    start = time.perf_counter()
    compile_ruleset(spec)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    compiled = compile_ruleset(spec)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert compiled.rule_count == size
    return seconds, (after - before) / size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument(
        "--repeat", type=int, default=5, help="passes over the inputs per engine (best is kept)"
    )
    parser.add_argument(
        "--large", type=int, default=10_000, help="rules in the compile-time ruleset"
    )
    args = parser.parse_args(argv)

    flat, inputs = load(args.bench_dir)
    compiled = compile_ruleset(spec_from_flat(flat, name="bench"))

    def engine(data):
        return compiled.evaluate(data)

    def engine_traced(data):
        return compiled.evaluate(data, trace=True)

    reference_rule_engine = rule_engine_evaluator(flat)
    reference_zen = zen_evaluator(flat)

    mismatches = 0
    for number, data in enumerate(inputs):
        ours = compiled.evaluate(data)
        traced = compiled.evaluate(data, trace=True)
        expected = {
            "this engine (trace on)": (
                traced.pattern_result,
                traced.total_points,
                traced.action_recommendation,
            ),
            "rule-engine": reference_rule_engine(data),
            "zen-engine": reference_zen(data),
        }
        for label, (pattern, total, recommendation) in expected.items():
            if (pattern, recommendation) != (
                ours.pattern_result,
                ours.action_recommendation,
            ) or abs(total - ours.total_points) > 1e-9:
                mismatches += 1
                if mismatches <= 5:
                    print(
                        f"input {number}: {label} gives {pattern} / {total}, "
                        f"this engine {ours.pattern_result}"
                    )

    figures = {
        "this engine (trace off)": microseconds_per_evaluation(engine, inputs, args.repeat),
        "this engine (trace on)": microseconds_per_evaluation(engine_traced, inputs, args.repeat),
        "rule-engine 5.1 (original core)": microseconds_per_evaluation(
            reference_rule_engine, inputs, args.repeat
        ),
        "zen-engine 2.1 (collect table)": microseconds_per_evaluation(
            reference_zen, inputs, args.repeat
        ),
    }
    ours = figures["this engine (trace off)"]
    print(f"{len(compiled.rule_ids)} rules, {len(inputs)} inputs, best of {args.repeat} passes")
    print(f"{'engine':<34}{'us/eval':>10}{'ratio':>10}")
    for label, microseconds in figures.items():
        print(f"{label:<34}{microseconds:>10.2f}{microseconds / ours:>9.1f}x")
    slowest_reference = min(
        figures["rule-engine 5.1 (original core)"], figures["zen-engine 2.1 (collect table)"]
    )
    print(f"speed-up over the faster reference: {slowest_reference / ours:.1f}x (target 25x)")

    seconds, bytes_per_rule = compile_figures(flat, args.large)
    print(
        f"compile {args.large:,} rules: {seconds:.3f} s (target < 1 s); "
        f"memory {bytes_per_rule:,.0f} bytes per rule"
    )
    print(
        f"pattern results on {len(inputs)} inputs: "
        + ("identical across engines" if not mismatches else f"{mismatches} MISMATCHES")
    )
    # Timings depend on the machine, so only a disagreement between engines fails the run.
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
