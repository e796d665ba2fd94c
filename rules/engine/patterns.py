"""Pattern keys: exact keys, keys with wildcards and the ruleset's default recommendation.

In `strict` semantics position i of a key stands for the i-th active rule in execution order,
which yields its one-character `action_result` or `-`. A `*` at a position matches either. An
exact key is one dict lookup (the hot path, unchanged); only a result no exact key matches asks
the wildcard keys, the most specific first (fewest wildcards), and then the default.

In `original` semantics a rule's result has any length and the rules of absent attributes are
left out, so a position of the result names no rule: there `*` is an ordinary character and keys
match exactly; the default applies as in `strict`.
"""

from __future__ import annotations

import re

from .problems import WARNING, Problem

WILDCARD = "*"
NO_MATCH = "-"

EXACT = "exact"
WILDCARD_KEY = "wildcard"
DEFAULT = "default"

# Missed results remembered per compiled ruleset, counted in characters: real traffic repeats a
# handful of combinations; the bound keeps adversarial inputs from growing it (1 MB of text).
MEMO_CHARACTERS = 1_000_000


# The wildcard index: a decision tree on the positions that tell the keys apart, as generated
# code. A node holding more than LEAF_KEYS keys is split on a position; keys with `*` there go
# down every branch, so the index is bounded: in depth, in the keys it holds in all (a multiple
# of the keys), in the branches of one split, and in the (key, position) pairs one split weighs.
LEAF_KEYS = 1
INDEX_DEPTH = 16
INDEX_SIZE_FACTOR = 4
SPLIT_BRANCHES = 8
SPLIT_WEIGHING_BUDGET = 5_000

# A leaf tests its keys in order, each on the positions its path left open: one comparison per
# position when there are at most CHAIN_POSITIONS, else PREFILTER_POSITIONS comparisons (a result
# that matches no key usually fails one of them) before the key's regular expression; first
# the positions where the key is least like the other keys, the likeliest to rule a result out.
CHAIN_POSITIONS = 8
PREFILTER_POSITIONS = 4
# A leaf with more keys than this (the index ran out of depth or room) matches them with one
# expression, an alternative per key, the most specific first.
LEAF_CHAIN_KEYS = 4


class PatternTable:
    """The keys of one ruleset, ready to answer `match(result)`; immutable once built apart from
    its memo of missed results, and thread-safe.

    Wildcard keys are indexed once per key length: generated code that compares one character
    per level of a decision tree until one key is left (or none), then tests that key on the
    positions the path did not decide: a few comparisons, then one regular expression. Keys
    are kept most specific first (fewest wildcards, then the key that sorts first) in every
    node, and a leaf answers with the first of its keys that matches.
    """

    __slots__ = ("exact", "answers", "default", "_index", "_no_key", "_memo", "_room")

    def __init__(self, patterns: dict, default_recommendation: str | None, *, wildcards: bool):
        self.answers = dict(patterns)
        self.exact = {k: v for k, v in patterns.items() if not wildcards or WILDCARD not in k}
        self.default = default_recommendation or None
        keys = sorted(
            (key for key in patterns if wildcards and WILDCARD in key),
            key=lambda key: (key.count(WILDCARD), key),
        )
        by_length: dict[int, list[str]] = {}
        for key in keys:
            by_length.setdefault(len(key), []).append(key)
        # The answer when no wildcard key matches: the default, or none.
        self._no_key = (self.default, None, None, DEFAULT if self.default is not None else None)
        wildcard_answers = {key: (*self.answers[key], key, WILDCARD_KEY) for key in keys}
        self._memo: dict[str, tuple] = {}
        longest = max((len(key) for key in patterns), default=1)
        self._room = max(64, MEMO_CHARACTERS // max(longest, 1))
        self._index = {
            length: _index_function(
                _index_node(same, frozenset(), 0, [INDEX_SIZE_FACTOR * len(same) + 64]),
                wildcard_answers,
                self._no_key,
                self._memo,
                self._room,
                length,
            )
            for length, same in by_length.items()
        }

    @property
    def remembered(self):
        """The memo's `get`: (result) -> an answer miss() gave before, or None; one dict lookup
        for the evaluation's hot path to try before calling miss()."""
        return self._memo.get

    @property
    def fallback(self):
        """(result) -> the answer for a result that missed the exact keys and the memo: the
        evaluation's hot path calls it after `remembered`. With keys of one length (always in
        strict semantics) it is the generated index itself, one call."""
        if len(self._index) == 1:
            return next(iter(self._index.values()))
        return self._answer if self._index else self.miss

    @property
    def needed(self) -> bool:
        """Whether a result missing the exact keys can still get an answer."""
        return bool(self._index) or self.default is not None

    def match(self, result: str) -> tuple:
        """(recommendation, action, key, kind) for a result; kind is exact, wildcard, default
        or None (no answer)."""
        found = self.exact.get(result)
        if found is not None:
            return (found[0], found[1], result, EXACT)
        return self.miss(result)

    def miss(self, result: str) -> tuple:
        """The answer for a result that no exact key matches (memoised)."""
        if not self._index:
            return self._no_key
        return self._memo.get(result) or self._answer(result)

    def _answer(self, result: str) -> tuple:
        find = self._index.get(len(result))
        return find(result) if find is not None else self._no_key

    def wildcard_key(self, result: str) -> str | None:
        """The most specific wildcard key matching `result`; ties go to the key that sorts
        first (validation reports them as ambiguous)."""
        find = self._index.get(len(result))
        return find(result)[2] if find is not None else None


# Keys longer than this are tested segment by segment instead of by an expression (compiling a
# thousand-character expression costs milliseconds).
LEAF_EXPRESSION_CHARACTERS = 1024


class _Leaf:
    """A few keys, most specific first."""

    __slots__ = ("keys",)

    def __init__(self, keys: list[str]):
        self.keys = tuple(keys)


class _Split:
    """Keys split on one position: those fixing the result's character there or leaving it `*`
    (branches), and those leaving it `*` for any other character (otherwise)."""

    __slots__ = ("position", "branches", "otherwise")

    def __init__(self, position: int, branches: dict, otherwise):
        self.position = position
        self.branches = branches
        self.otherwise = otherwise


def _index_node(keys: list[str], used: frozenset, depth: int, room: list):
    """A node over `keys` (most specific first); order is kept in every subset. `room` is the
    number of keys the whole index may still hold in its splits' subsets."""
    if not keys:
        return None
    if len(keys) <= LEAF_KEYS or depth >= INDEX_DEPTH or room[0] <= 0:
        return _Leaf(keys)
    position = _best_split(keys, used)
    if position is None:
        return _Leaf(keys)
    chars = sorted({key[position] for key in keys} - {WILDCARD})
    otherwise = [key for key in keys if key[position] == WILDCARD]
    subsets = {char: [key for key in keys if key[position] in (char, WILDCARD)] for char in chars}
    room[0] -= sum(len(subset) for subset in subsets.values()) + len(otherwise)
    used = used | {position}
    return _Split(
        position,
        {char: _index_node(subset, used, depth + 1, room) for char, subset in subsets.items()},
        _index_node(otherwise, used, depth + 1, room),
    )


def _index_function(root, answers: dict, no_key: tuple, memo: dict, room: int, length: int):
    """The index as one generated function (result) -> the answer of the most specific wildcard
    key, or `no_key`, remembered in `memo` while it has room: nested comparisons of one
    character each, then a leaf's tests; no call or attribute lookup per level, and no call at
    all for a result the comparisons rule out."""
    namespace: dict = {}
    names: dict = {}
    # How many keys each (position, character) would let through: a leaf compares first the
    # positions where its key is least like the others, the likeliest to rule a result out.
    agreeing: dict = {}
    for key in answers:
        if len(key) == length:
            for i, char in enumerate(key):
                agreeing[i, char] = agreeing.get((i, char), 0) + 1
    # No length check up front: a shorter result fails on an IndexError, and every test that
    # ends a path checks the length (a key's expression fullmatches only its own length).
    lines = ["def index(NO_KEY, MEMO, ROOM):", "    def find(r):", "        try:"]
    sized = f"len(r) == {length}"

    def bound(kind: str, key: str, make):
        """The namespace name of `make(key, name)`, one per key and kind, shared by leaves."""
        name = names.get((kind, key))
        if name is None:
            name = names[(kind, key)] = f"{kind}{len(names)}"
            namespace[name] = make(key, name)
        return name

    def key_test(key: str, used: frozenset) -> str:
        """The test of `key` on the positions `used` left open, and of the length."""
        open_ = [(i, char) for i, char in enumerate(key) if char != WILDCARD and i not in used]
        open_.sort(key=lambda item: agreeing[item] + agreeing.get((item[0], WILDCARD), 0))
        if len(open_) <= CHAIN_POSITIONS:
            tests = [f"r[{i}] == {char!r}" for i, char in open_] + [sized]
        else:
            tests = [f"r[{i}] == {char!r}" for i, char in open_[:PREFILTER_POSITIONS]]
            match = bound("match", key, lambda key, name: _FirstUse(namespace, name, key))
            tests.append(f"{match}(r) is not None")
        return " and ".join(tests)

    def emit(node, depth: int, used: frozenset) -> None:
        pad = "    " * depth
        if node is None:
            lines.append(f"{pad}a = NO_KEY")
        elif (
            type(node) is _Leaf
            and len(node.keys) > LEAF_CHAIN_KEYS
            and (sum(len(key) for key in node.keys) <= LEAF_EXPRESSION_CHARACTERS)
        ):
            name = f"leaf{len(namespace)}"
            namespace[name] = re.compile(
                "|".join(f"({_key_expression(key)})" for key in node.keys), re.DOTALL
            ).fullmatch
            namespace[f"{name}_answers"] = (no_key, *(answers[key] for key in node.keys))
            lines.append(f"{pad}m = {name}(r)")
            lines.append(f"{pad}a = {name}_answers[m.lastindex] if m is not None else NO_KEY")
        elif type(node) is _Leaf:
            for number, key in enumerate(node.keys):
                answer = bound("answer", key, lambda key, name: answers[key])
                test = key_test(key, used)
                lines.append(f"{pad}{'elif' if number else 'if'} {test}:")
                lines.append(f"{pad}    a = {answer}")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    a = NO_KEY")
        else:
            position = node.position
            inner = used | {position}
            branches = list(node.branches.items())
            if len(branches) == 1:
                ((char, child),) = branches
                lines.append(f"{pad}if r[{position}] == {char!r}:")
                emit(child, depth + 1, inner)
            else:
                lines.append(f"{pad}c = r[{position}]")
                for number, (char, child) in enumerate(branches):
                    lines.append(f"{pad}{'elif' if number else 'if'} c == {char!r}:")
                    emit(child, depth + 1, inner)
            lines.append(f"{pad}else:")
            emit(node.otherwise, depth + 1, inner)

    emit(root, 3, frozenset())
    lines += ["        except IndexError:", "            return NO_KEY"]
    # One dict store is atomic; racing threads can only overshoot the bound by a few.
    lines += ["        if len(MEMO) < ROOM:", "            MEMO[r] = a", "        return a"]
    lines += ["    return find"]
    exec(compile("\n".join(lines), "<pattern key index>", "exec"), namespace)  # noqa: S102
    return namespace["index"](no_key, memo, room)


class _FirstUse:
    """A key's matcher built on its first call, which then takes its place in the index's
    namespace: a large index holds thousands of leaves, most of which a ruleset's traffic never
    reaches, and compiling an expression costs a quarter of a millisecond."""

    __slots__ = ("namespace", "name", "key")

    def __init__(self, namespace: dict, name: str, key: str):
        self.namespace, self.name, self.key = namespace, name, key

    def __call__(self, result: str):
        match = _key_matcher(self.key)
        self.namespace[self.name] = match
        return match(result)


def _key_matcher(key: str):
    """(result) -> not None when `key` matches it: the key's expression's `fullmatch`, or for
    a long key a test of its length and fixed segments, each a `startswith`."""
    if len(key) <= LEAF_EXPRESSION_CHARACTERS:
        return re.compile(_key_expression(key), re.DOTALL).fullmatch
    segments = tuple((run.start(), run.group()) for run in re.finditer(r"[^*]+", key))
    length = len(key)

    def segments_match(result: str):
        if len(result) == length and all(result.startswith(t, i) for i, t in segments):
            return True
        return None

    return segments_match


def _best_split(keys: list[str], used: frozenset) -> int | None:
    """The position whose largest branch holds the fewest keys, if it holds fewer than all;
    positions fixed to more than SPLIT_BRANCHES characters are left to the leaves."""
    best, best_size = None, len(keys)
    candidates = [position for position in range(len(keys[0])) if position not in used]
    # Long keys: weigh evenly spread positions only, so that building stays linear-ish.
    stride = max(1, len(keys) * len(candidates) // SPLIT_WEIGHING_BUDGET)
    for position in candidates[::stride]:
        counts: dict[str, int] = {}
        for key in keys:
            char = key[position]
            counts[char] = counts.get(char, 0) + 1
        wild = counts.pop(WILDCARD, 0)
        if len(counts) > SPLIT_BRANCHES:
            continue
        largest = max((count + wild for count in counts.values()), default=len(keys))
        if largest < best_size:
            best, best_size = position, largest
    return best


def _key_expression(key: str) -> str:
    """A key as a regular expression: fixed characters literally, each run of `*` as `.{n}`."""
    parts = []
    for run in re.finditer(r"\*+|[^*]+", key):
        text = run.group()
        parts.append(f".{{{len(text)}}}" if text[0] == WILDCARD else re.escape(text))
    return "".join(parts)


def wildcard_count(key: str) -> int:
    return key.count(WILDCARD)


def key_covers(general: str, specific: str) -> bool:
    """Whether every result `specific` matches is matched by `general` (same length)."""
    return len(general) == len(specific) and all(
        g in (WILDCARD, s) for g, s in zip(general, specific, strict=True)
    )


def _keys_meet(first: str, second: str) -> str | None:
    """The key matching exactly the results both keys match, or None when no result does."""
    chars = []
    for a, b in zip(first, second, strict=True):
        if a == b or b == WILDCARD:
            chars.append(a)
        elif a == WILDCARD:
            chars.append(b)
        else:
            return None
    return "".join(chars)


def pattern_key_problems(
    keys: list[tuple[str, str]], results: list[str], *, semantics_strict: bool
) -> list[Problem]:
    """Keys that no result can produce and pairs of keys that are ambiguous.

    `keys`: (JSON path, key) of the patterns; `results`: each active rule's action_result in
    execution order. Keys of the wrong length are the compiler's problem and are skipped here.
    """
    if not semantics_strict:
        return [
            Problem(
                rule_id=None,
                path=f"{path}.pattern_key",
                severity=WARNING,
                message=(
                    f"pattern key '{key}': '*' is an ordinary character in original semantics "
                    "(a result's positions are not rules there), so this key only matches a "
                    "result holding a literal '*'"
                ),
            )
            for path, key in keys
            if WILDCARD in key
        ]
    length = len(results)
    allowed = [frozenset((result, NO_MATCH, WILDCARD)) for result in results]
    producible = re.compile(
        "".join(f"[{re.escape(result)}\\-*]" if result else "[-*]" for result in results)
    )
    problems = []
    usable: list[tuple[str, str]] = []
    for path, key in keys:
        if len(key) != length:
            continue
        if producible.fullmatch(key):
            usable.append((path, key))
            continue
        position = next(i for i, char in enumerate(key) if char not in allowed[i])
        expected = f"'{results[position]}', " if results[position] else ""
        problems.append(
            Problem(
                rule_id=None,
                path=f"{path}.pattern_key",
                message=(
                    f"pattern key '{key}' can never be produced: position {position + 1} is "
                    f"'{key[position]}', but the rule there yields only {expected}'-' "
                    "(or write '*' for either)"
                ),
            )
        )
    problems += _ambiguities(usable)
    return problems


# Ambiguous pairs listed before the check stops: past a few, the analyst needs to restructure
# the keys, not a longer list (and 300 overlapping keys make 44,850 pairs).
AMBIGUITIES_LISTED = 20


def _ambiguities(keys: list[tuple[str, str]]) -> list[Problem]:
    by_count: dict[int, list[tuple[str, str]]] = {}
    for path, key in keys:
        by_count.setdefault(wildcard_count(key), []).append((path, key))
    problems = []
    for count, same in sorted(by_count.items()):
        if count == 0:
            continue
        for index, (path, first) in enumerate(same):
            for _, second in same[index + 1 :]:
                meet = _keys_meet(first, second)
                if meet is None or _decided(meet, count, by_count):
                    continue
                if len(problems) == AMBIGUITIES_LISTED:
                    problems.append(
                        Problem(
                            rule_id=None,
                            path="patterns",
                            message=(
                                f"more ambiguous pairs of pattern keys than the "
                                f"{AMBIGUITIES_LISTED} listed; resolve those and validate again"
                            ),
                        )
                    )
                    return problems
                problems.append(
                    Problem(
                        rule_id=None,
                        path=f"{path}.pattern_key",
                        message=(
                            f"pattern keys '{first}' and '{second}' are ambiguous: both match "
                            f"'{meet}' with {count} wildcard{'s' if count != 1 else ''} each and "
                            f"no more specific key decides; add a key for '{meet}' or make one "
                            "of them more specific"
                        ),
                    )
                )
    return problems


def _decided(meet: str, count: int, by_count: dict) -> bool:
    """Whether one key with fewer wildcards than `count` matches every result `meet` does."""
    for fewer in range(wildcard_count(meet), count):
        for _, key in by_count.get(fewer, ()):
            if key_covers(key, meet):
                return True
    return False
