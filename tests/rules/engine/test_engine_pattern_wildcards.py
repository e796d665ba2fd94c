"""Pattern keys with wildcards, the most specific key, the default recommendation, and the
problems of keys that can never be produced or are ambiguous (rules/engine/patterns.py)."""

import itertools
import random

import pytest

from rules.engine import PatternTable, compile_ruleset, ruleset_pattern_problems, ruleset_problems
from rules.engine.patterns import LEAF_EXPRESSION_CHARACTERS

RESULTS = "YNX"  # rule r0 yields Y, r1 N, r2 X


def spec(keys, *, default=None, semantics="strict", results=RESULTS):
    header = {"name": "wildcards", "semantics": semantics}
    if default is not None:
        header["default_recommendation"] = default
    return {
        "ruleset": header,
        "rules": [
            {
                "rule_id": f"r{index}",
                "attribute": f"a{index}",
                "condition": "equal",
                "constant": 1,
                "action_result": result,
                "priority": index,
            }
            for index, result in enumerate(results)
        ],
        "patterns": [{"pattern_key": k, "action_recommendation": v} for k, v in keys],
    }


def matching(pattern_result: str) -> dict:
    """The input that makes each rule match where `pattern_result` has its result."""
    return {f"a{i}": 1 for i, char in enumerate(pattern_result) if char != "-"}


def answer(compiled, pattern_result):
    fast = compiled.evaluate(matching(pattern_result))
    traced = compiled.evaluate(matching(pattern_result), trace=True)
    assert fast.pattern_result == traced.pattern_result == pattern_result
    assert fast.action_recommendation == traced.action_recommendation
    return fast.action_recommendation, traced.pattern_match


def test_an_exact_key_wins_over_every_wildcard_key():
    compiled = compile_ruleset(spec([("YNX", "EXACT"), ("Y**", "ONE"), ("***", "ANY")]))
    assert answer(compiled, "YNX") == ("EXACT", {"key": "YNX", "kind": "exact"})


def test_the_key_with_fewest_wildcards_wins():
    compiled = compile_ruleset(spec([("Y**", "TWO"), ("YN*", "ONE"), ("***", "THREE")]))
    assert answer(compiled, "YN-") == ("ONE", {"key": "YN*", "kind": "wildcard"})
    assert answer(compiled, "Y--") == ("TWO", {"key": "Y**", "kind": "wildcard"})
    assert answer(compiled, "---") == ("THREE", {"key": "***", "kind": "wildcard"})


def test_a_wildcard_matches_a_rule_that_did_not_match_too():
    compiled = compile_ruleset(spec([("*N*", "N")]))
    assert answer(compiled, "-N-")[0] == "N"
    assert answer(compiled, "YNX")[0] == "N"
    assert answer(compiled, "Y-X")[0] is None


def test_the_default_answers_when_no_key_matches_and_brings_no_action():
    compiled = compile_ruleset(spec([("YNX", "ALL")], default="MANUAL"))
    evaluation = compiled.evaluate({})
    assert (evaluation.action_recommendation, evaluation.action) == ("MANUAL", None)
    assert answer(compiled, "---") == ("MANUAL", {"key": None, "kind": "default"})


def test_without_default_a_miss_answers_nothing_as_before():
    compiled = compile_ruleset(spec([("YNX", "ALL")]))
    assert answer(compiled, "Y--") == (None, {"key": None, "kind": None})
    assert "pattern_match" not in compiled.evaluate({}).as_dict()
    assert compiled.evaluate({}, trace=True).as_dict()["pattern_match"] == {
        "key": None,
        "kind": None,
    }


def test_an_empty_default_is_no_default():
    compiled = compile_ruleset(spec([("YNX", "ALL")], default=""))
    assert compiled.evaluate({}).action_recommendation is None


def test_a_default_that_is_not_text_is_a_problem():
    problems = ruleset_problems({**spec([]), "ruleset": {"name": "x", "default_recommendation": 3}})
    assert [p.path for p in problems] == ["ruleset.default_recommendation"]


def test_equal_specificity_is_decided_by_the_key_that_sorts_first_and_is_a_problem():
    keys = [("Y**", "FIRST_RULE"), ("*N*", "SECOND_RULE")]
    compiled = compile_ruleset(spec(keys))
    # '*' sorts before 'Y': the tie is deterministic, and validation names it.
    assert answer(compiled, "YN-") == ("SECOND_RULE", {"key": "*N*", "kind": "wildcard"})
    problems = ruleset_pattern_problems(spec(keys))
    assert len(problems) == 1
    assert "'Y**' and '*N*' are ambiguous" in problems[0].message
    assert "add a key for 'YN*'" in problems[0].message


def test_a_more_specific_key_decides_an_overlap():
    keys = [("Y**", "A"), ("*N*", "B"), ("YN*", "DECIDED")]
    assert ruleset_pattern_problems(spec(keys)) == []
    assert answer(compile_ruleset(spec(keys)), "YNX")[0] == "DECIDED"


def test_keys_that_cannot_overlap_or_differ_in_specificity_are_not_ambiguous():
    # Y-* and *NX differ at position 2 (- against N); -** has more wildcards than *NX.
    assert ruleset_pattern_problems(spec([("Y-*", "A"), ("*NX", "C"), ("-**", "B")])) == []


def test_a_key_no_rule_can_produce_is_a_problem_naming_the_position():
    problems = ruleset_pattern_problems(spec([("YQ*", "A"), ("-N-", "B")]))
    assert [(p.path, p.severity) for p in problems] == [("patterns[0].pattern_key", "error")]
    assert "position 2 is 'Q', but the rule there yields only 'N', '-'" in problems[0].message


def test_unproducible_keys_block_activation_not_compilation():
    compiled = compile_ruleset(spec([("YQ*", "A")]))
    assert compiled.evaluate(matching("YNX")).action_recommendation is None


def test_wrong_length_keys_remain_compile_problems_in_strict():
    problems = ruleset_problems(spec([("Y*", "SHORT")]))
    assert [
        "has length 2 but the ruleset produces patterns of length 3" in p.message for p in problems
    ] == [True]


def test_in_original_semantics_a_star_is_an_ordinary_character_and_a_warning():
    keys = [("Y*", "LITERAL")]
    compiled = compile_ruleset(spec(keys, semantics="original", default="DEF"))
    assert compiled.evaluate({"a0": 1, "a1": 0}).pattern_result == "Y-"
    assert compiled.evaluate({"a0": 1, "a1": 0}).action_recommendation == "DEF"
    problems = ruleset_pattern_problems(spec(keys, semantics="original"))
    assert [p.severity for p in problems] == ["warning"]
    assert "ordinary character in original semantics" in problems[0].message


def test_in_original_semantics_the_default_answers_an_input_no_rule_runs_on():
    compiled = compile_ruleset(spec([("Y", "ONE")], semantics="original", default="DEF"))
    evaluation = compiled.evaluate({"unrelated": 1}, trace=True)
    assert (evaluation.pattern_result, evaluation.action_recommendation) == ("", "DEF")
    assert evaluation.pattern_match == {"key": None, "kind": "default"}


def slow_most_specific(keys, result):
    found = [
        k for k in keys if "*" in k and all(c in ("*", r) for c, r in zip(k, result, strict=True))
    ]
    return min(found, key=lambda k: (k.count("*"), k)) if found else None


@pytest.mark.parametrize("length", [3, 6, 9])
def test_the_wildcard_index_agrees_with_a_slow_search_on_every_result(length):
    chooser = random.Random(length)
    for _ in range(30):
        keys = {
            "".join(chooser.choice("Y-*") for _ in range(length)): ("R", None)
            for _ in range(chooser.randint(1, 40))
        }
        table = PatternTable(keys, None, wildcards=True)
        for result in map("".join, itertools.product("Y-", repeat=length)):
            assert table.wildcard_key(result) == slow_most_specific(keys, result), (keys, result)


def test_long_keys_are_matched_by_their_segments():
    chooser = random.Random(7)
    length = LEAF_EXPRESSION_CHARACTERS
    keys = {}
    for _ in range(40):
        key = [chooser.choice("Y-") for _ in range(length)]
        for position in chooser.sample(range(length), 5):
            key[position] = "*"
        keys["".join(key)] = ("R", None)
    table = PatternTable(keys, None, wildcards=True)
    for key in list(keys)[:20]:
        result = "".join(chooser.choice("Y-") if c == "*" else c for c in key)
        assert table.wildcard_key(result) == slow_most_specific(keys, result)
        flipped = ("-" if result[0] == "Y" else "Y") + result[1:]
        assert table.wildcard_key(flipped) == slow_most_specific(keys, flipped)


def test_missed_results_are_remembered_within_a_bound():
    length = 20_000  # room for 1,000,000 characters of results: 64 (the floor)
    table = PatternTable({"Y" + "*" * (length - 1): ("ONE", None)}, "DEF", wildcards=True)
    for number in range(100):
        table.miss(f"{number:03d}".ljust(length, "-"))
    assert len(table._memo) == table._room == 64
    assert table.miss("Y" + "-" * (length - 1))[:2] == ("ONE", None)
    assert table.miss("-" * length)[:2] == ("DEF", None)
    assert table.miss("short")[:2] == ("DEF", None)
