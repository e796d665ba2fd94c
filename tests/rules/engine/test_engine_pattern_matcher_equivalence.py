"""The generated wildcard index (rules/engine/patterns.py) gives the answer a naive matcher gives:
the exact key if any, else the matching key with the fewest wildcards, ties to the key that
sorts first (as the engine documents; validation reports such ties as ambiguous), else the
default, else nothing. Random key sets and results, including results of other lengths and
with characters no key fixes, through PatternTable and through compiled rulesets."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import DEFAULT, EXACT, WILDCARD_KEY, PatternTable, compile_ruleset
from rules.engine import patterns as pattern_module


def naive_answer(keys: dict, default, result: str) -> tuple:
    """(recommendation, action, key, kind) found the slow way."""
    if result in keys and "*" not in result:
        return (*keys[result], result, EXACT)
    matching = [
        key
        for key in keys
        if "*" in key
        and len(key) == len(result)
        and all(k in ("*", r) for k, r in zip(key, result, strict=True))
    ]
    if matching:
        best = min(matching, key=lambda key: (key.count("*"), key))
        return (*keys[best], best, WILDCARD_KEY)
    return (default, None, None, DEFAULT if default is not None else None)


@st.composite
def key_sets(draw, alphabet="Y-*", max_length=12):
    """A length, keys of that length (often sharing most positions, as real keys do), their
    recommendations, a default or none, and results: keys filled in, mutated and random."""
    length = draw(st.integers(1, max_length))
    base = draw(st.text(alphabet="Y-", min_size=length, max_size=length))
    count = draw(st.integers(1, 30))
    keys = {}
    for number in range(count):
        if draw(st.booleans()):
            key = draw(st.text(alphabet=alphabet, min_size=length, max_size=length))
        else:
            # A variation of the common key: a few positions changed or made `*`.
            chars = list(base)
            for position in draw(st.lists(st.integers(0, length - 1), max_size=length)):
                chars[position] = draw(st.sampled_from(alphabet))
            key = "".join(chars)
        keys[key] = (f"R{number}", f"action{number}" if number % 3 else None)
    default = draw(st.sampled_from([None, "DEFAULT"]))
    results = []
    fixed = alphabet.replace("*", "")
    for key in list(keys)[:10]:
        filled = "".join(draw(st.sampled_from(fixed)) if c == "*" else c for c in key)
        results.append(filled)
        position = draw(st.integers(0, length - 1))
        results.append(
            filled[:position] + draw(st.sampled_from(fixed + "N")) + filled[position + 1 :]
        )
    results += draw(
        st.lists(st.text(alphabet=fixed + "N", min_size=length, max_size=length), max_size=10)
    )
    results += [base[:-1], base + "Y", ""]  # other lengths answer no wildcard key
    return keys, default, results


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(key_sets())
def test_the_table_answers_as_a_naive_matcher_does(case):
    keys, default, results = case
    table = PatternTable(keys, default, wildcards=True)
    for result in results:
        expected = naive_answer(keys, default, result)
        assert table.match(result) == expected, (keys, result)
        # Asked again: the remembered answer is the same.
        assert table.match(result) == expected, (keys, result)
        if expected[3] != EXACT:
            key = expected[2] if expected[3] == WILDCARD_KEY else None
            assert table.wildcard_key(result) == key


@SETTINGS
@given(key_sets(alphabet="YN-*x", max_length=6))
def test_keys_of_several_characters_and_unproducible_ones_agree_too(case):
    keys, default, results = case
    table = PatternTable(keys, default, wildcards=True)
    for result in results:
        assert table.match(result) == naive_answer(keys, default, result), (keys, result)


@SETTINGS
@given(key_sets(max_length=40), st.sampled_from([(1, 0, 0), (2, 1, 2), (16, 4, 8)]))
def test_every_leaf_form_agrees(case, limits):
    """Small leaves tested by comparisons only, by comparisons and an expression, and leaves
    of many keys matched by one expression (depth 0: the whole index is one leaf)."""
    keys, default, results = case
    depth, chain, prefilter = limits
    saved = (pattern_module.INDEX_DEPTH, pattern_module.CHAIN_POSITIONS)
    saved += (pattern_module.PREFILTER_POSITIONS,)
    try:
        pattern_module.INDEX_DEPTH = depth
        pattern_module.CHAIN_POSITIONS = chain
        pattern_module.PREFILTER_POSITIONS = prefilter
        table = PatternTable(keys, default, wildcards=True)
    finally:
        (
            pattern_module.INDEX_DEPTH,
            pattern_module.CHAIN_POSITIONS,
            pattern_module.PREFILTER_POSITIONS,
        ) = saved
    for result in results:
        assert table.match(result) == naive_answer(keys, default, result), (keys, result)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_long_keys_tested_by_segments_agree(data):
    length = pattern_module.LEAF_EXPRESSION_CHARACTERS + 3
    base = "Y-" * (length // 2) + "Y" * (length % 2)
    keys = {}
    for number in range(data.draw(st.integers(1, 4))):
        chars = list(base)
        for position in data.draw(st.lists(st.integers(0, length - 1), max_size=8)):
            chars[position] = data.draw(st.sampled_from("Y-*"))
        keys["".join(chars)] = (f"R{number}", None)
    table = PatternTable(keys, "DEFAULT", wildcards=True)
    for key in keys:
        filled = key.replace("*", "Y")
        for result in (filled, "N" + filled[1:], filled[:-1], filled + "-"):
            assert table.match(result) == naive_answer(keys, "DEFAULT", result)


RESULTS = "YNXYN"


@SETTINGS
@given(
    st.dictionaries(
        st.text(alphabet="YNX-*", min_size=5, max_size=5), st.just("R"), min_size=1, max_size=20
    ),
    st.lists(st.lists(st.booleans(), min_size=5, max_size=5), min_size=1, max_size=20),
    st.sampled_from([None, "DEFAULT"]),
)
def test_compiled_rulesets_answer_as_a_naive_matcher_does(keys, matches, default):
    """Through evaluate(), fast and traced: strict results are each rule's result or '-'."""
    spec = {
        "ruleset": {"name": "equivalence", "semantics": "strict"},
        "rules": [
            {
                "rule_id": f"r{index}",
                "attribute": f"a{index}",
                "condition": "equal",
                "constant": 1,
                "action_result": result,
                "priority": index,
            }
            for index, result in enumerate(RESULTS)
        ],
        "patterns": [
            {"pattern_key": key, "action_recommendation": f"R{number}"}
            for number, key in enumerate(keys)
        ],
    }
    if default is not None:
        spec["ruleset"]["default_recommendation"] = default
    recommendations = {key: (f"R{number}", None) for number, key in enumerate(keys)}
    compiled = compile_ruleset(spec)
    for matched in matches:
        data = {f"a{index}": 1 if hit else 0 for index, hit in enumerate(matched)}
        evaluation = compiled.evaluate(data)
        expected = naive_answer(recommendations, default, evaluation.pattern_result)
        assert evaluation.action_recommendation == expected[0]
        traced = compiled.evaluate(data, trace=True)
        assert traced.action_recommendation == expected[0]
        assert traced.pattern_match == {"key": expected[2], "kind": expected[3]}
