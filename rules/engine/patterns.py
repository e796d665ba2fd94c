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


# A wildcard index node holds at most this many keys before it is split on a position. Keys with
# `*` at a split position go down every branch, so the index is bounded: in depth, in the keys it
# holds in all (a multiple of the keys), and in the (key, position) pairs one split weighs.
LEAF_KEYS = 3
INDEX_DEPTH = 12
INDEX_SIZE_FACTOR = 8
SPLIT_WEIGHING_BUDGET = 5_000


class PatternTable:
    """The keys of one ruleset, ready to answer `match(result)`; immutable once built apart from
    its memo of missed results, and thread-safe.

    Wildcard keys are indexed once: a small decision tree on the positions most keys fix (one
    dict lookup per level), whose leaves hold a few keys as one regular expression with an
    alternative per key, the most specific first (fewest wildcards, then the key that sorts
    first). `fullmatch` takes the first alternative that matches.
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


# Leaves with more characters than this check keys segment by segment instead of compiling an
# expression (compiling a thousand-character expression costs milliseconds).
LEAF_EXPRESSION_CHARACTERS = 1024


class _Leaf:
    """A few keys, most specific first. Short ones are matched by one expression (compiled with
    the index); long ones by their fixed segments, each a `startswith` at its offset."""

    __slots__ = ("keys", "_expression", "_segments")

    def __init__(self, keys: list[str]):
        self.keys = tuple(keys)
        self._expression = None
        self._segments = None
        if sum(len(key) for key in keys) > LEAF_EXPRESSION_CHARACTERS:
            self._segments = tuple(
                tuple((run.start(), run.group()) for run in re.finditer(r"[^*]+", key))
                for key in keys
            )

    @property
    def short(self) -> bool:
        return self._segments is None

    def compiled(self):
        if self._expression is None:
            self._expression = re.compile(
                "|".join(f"({_key_expression(key)})" for key in self.keys), re.DOTALL
            )
        return self._expression

    def find(self, result: str) -> str | None:
        if self._segments is not None:
            for key, segments in zip(self.keys, self._segments, strict=True):
                if all(result.startswith(text, start) for start, text in segments):
                    return key
            return None
        found = self.compiled().fullmatch(result)
        return self.keys[found.lastindex - 1] if found is not None else None


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
    chars = {key[position] for key in keys} - {WILDCARD}
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
    character each, then a leaf's expression; no call or attribute lookup per level."""
    namespace: dict = {"ANSWERS": answers, "NO_KEY": no_key, "MEMO": memo, "ROOM": room}
    lines = ["def find(r):", f"    if len(r) != {length}:", "        return NO_KEY"]

    def emit(node, depth: int) -> None:
        pad = "    " * depth
        if node is None:
            lines.append(f"{pad}a = NO_KEY")
        elif type(node) is _Leaf and node.short:
            number = len(namespace)
            namespace[f"match{number}"] = node.compiled().fullmatch
            namespace[f"answers{number}"] = (no_key, *(answers[key] for key in node.keys))
            lines.append(f"{pad}m = match{number}(r)")
            lines.append(f"{pad}a = answers{number}[m.lastindex] if m is not None else NO_KEY")
        elif type(node) is _Leaf:
            name = f"leaf{len(namespace)}"
            namespace[name] = node.find
            lines.append(f"{pad}k = {name}(r)")
            lines.append(f"{pad}a = ANSWERS[k] if k is not None else NO_KEY")
        else:
            lines.append(f"{pad}c = r[{node.position}]")
            for number, (char, child) in enumerate(node.branches.items()):
                lines.append(f"{pad}{'if' if number == 0 else 'elif'} c == {char!r}:")
                emit(child, depth + 1)
            if node.branches:
                lines.append(f"{pad}else:")
                emit(node.otherwise, depth + 1)
            else:
                emit(node.otherwise, depth)

    emit(root, 1)
    # One dict store is atomic; racing threads can only overshoot the bound by a few.
    lines += ["    if len(MEMO) < ROOM:", "        MEMO[r] = a", "    return a"]
    exec(compile("\n".join(lines), "<pattern key index>", "exec"), namespace)  # noqa: S102
    return namespace["find"]


def _best_split(keys: list[str], used: frozenset) -> int | None:
    """The position whose largest branch holds the fewest keys, if it holds fewer than all."""
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
