"""Regular expressions with guaranteed bounds: RE2, linear in the input, bounded in memory.

A backtracking engine (Python's `re`, the `regex` package) can take exponential time on patterns
such as `(a|aa)+$`, and compiles counted repetitions such as `(?:a{1000}){1000}` into programs of
hundreds of megabytes. RE2 runs in time linear in the input and refuses what it cannot run so:
backreferences, lookaround, possessive quantifiers, atomic groups. The caps below bound what one
pattern may cost; they are part of every refusal message so that authors know the limit.

Patterns are written in Python syntax as far as RE2 has it. Three Python spellings RE2 lacks are
translated: `\\Z` (end of text, RE2's `\\z`), `{,n}` (Python's `{0,n}`; RE2 would read it as
text) and the escapes `\\uXXXX`, `\\UXXXXXXXX`, `\\N{NAME}`. Deliberate differences from Python,
documented in the README: `\\d`, `\\w`, `\\s` and `\\b` are ASCII-only (`\\pL` is a letter of any
script, `\\p{Nd}` a decimal digit of any script), and `$` matches only at the very end of the text
(Python's also matched before a final newline: write `\\n?$` for that).
"""

from __future__ import annotations

import re
import unicodedata

import re2
from re2 import _re2

# Longest pattern accepted, in characters. Lists of values belong in the `in` operator.
REGEX_MAX_PATTERN_LENGTH = 1_000
# Largest compiled program accepted, in RE2 instructions (RE2's program_size()). A Unicode class
# such as \pL compiles to about 1,200; counted repetitions multiply their body. The worst pattern
# under this cap measured about 0.4 s on a 10,000-character input (2-core VM): the bound on one
# test, which the evaluation budget cannot interrupt (it is checked between rules).
REGEX_MAX_PROGRAM_SIZE = 3_000
# Memory of one compiled pattern, program and match cache together (RE2's max_mem). Above it RE2
# refuses to compile, or matches with its slower, still linear, automaton.
REGEX_MAX_MEMORY_BYTES = 1 << 20
# Inputs longer than this (in characters) never match, so a test is bounded by input size too.
REGEX_MAX_INPUT_LENGTH = 10_000

_OPTIONS = re2.Options()
_OPTIONS.max_mem = REGEX_MAX_MEMORY_BYTES
# Only whether there is a match matters: no group needs its bounds (cheaper matching).
_OPTIONS.never_capture = True
_OPTIONS.log_errors = False

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_AT_START = _re2.RE2.Anchor.ANCHOR_START

_NO_BACKTRACKING = "RE2 never backtracks, so it does not need them"
_UNSUPPORTED = "which RE2 does not support (it matches in linear time, and these cannot)"
# RE2's "invalid perl operator" errors, by the group opener they name: what it is, what instead.
_UNSUPPORTED_GROUPS = {
    "(?=": ("lookahead (?=…)", "match the text itself, or test it in a separate rule"),
    "(?!": (
        "negative lookahead (?!…)",
        "test the unwanted text in a separate rule with regex_not_search",
    ),
    "(?<=": ("lookbehind (?<=…)", "match the preceding text as part of the pattern"),
    "(?<!": (
        "negative lookbehind (?<!…)",
        "test the unwanted text in a separate rule with regex_not_search",
    ),
    "(?P": (
        "a backreference (?P=name) or a recursion",
        "list the alternatives explicitly, or compare the values in separate rules",
    ),
    "(?(": ("a conditional group (?(…)…)", "split the rule in two"),
}
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")
_PERL_OPERATOR = "invalid perl operator: "
_POSSESSIVE = re.compile(r"bad repetition operator: [*+?}]\+")


class RegexRefused(ValueError):
    """A pattern the engine will not run; `str()` says why and what to write instead."""


class BoundedRegex:
    """A compiled RE2 pattern: `search(text)` and `match(text)` (at the start) answer booleans.

    Thread-safe (RE2 guards its match cache); immutable.
    """

    __slots__ = ("pattern", "program_size", "search", "match")

    def __init__(self, pattern: str, compiled, program_size: int):
        self.pattern = pattern
        self.program_size = program_size
        self.search = _tester(compiled, _UNANCHORED)
        self.match = _tester(compiled, _AT_START)

    def __repr__(self) -> str:
        return f"BoundedRegex({self.pattern!r}, program_size={self.program_size})"


def _tester(compiled, anchor):
    # RE2's low-level Match: the package's Python-level search() builds a generator, a match
    # object and character offsets, which costs more than the match itself on short inputs.
    find = compiled.Match

    def test(text: str, find=find, anchor=anchor) -> bool:
        # Lone surrogates are not UTF-8; passed through, they simply match no character class.
        data = text.encode("utf-8", "surrogatepass")
        return find(anchor, data, 0, len(data))[0][0] >= 0

    return test


def regex_compile(pattern: str) -> BoundedRegex:
    """Compile a pattern under the caps; raises RegexRefused saying why and what to write."""
    if len(pattern) > REGEX_MAX_PATTERN_LENGTH:
        raise RegexRefused(
            f"is {len(pattern):,} characters long; patterns are limited to "
            f"{REGEX_MAX_PATTERN_LENGTH:,} characters (to test a value against a list of "
            "values, use the 'in' operator)"
        )
    translated = _re2_syntax(pattern)
    try:
        encoded = translated.encode("utf-8")
    except UnicodeEncodeError as error:
        raise RegexRefused("contains a lone surrogate, which is not text") from error
    compiled = _re2.RE2(encoded, _OPTIONS)
    if not compiled.ok():
        raise RegexRefused(_refusal(compiled.error().decode("utf-8", "replace")))
    program_size = compiled.ProgramSize()
    if program_size > REGEX_MAX_PROGRAM_SIZE:
        raise RegexRefused(
            f"compiles to {program_size:,} instructions; the limit is "
            f"{REGEX_MAX_PROGRAM_SIZE:,}. Use smaller repetition counts (+ or * instead of "
            "{n,m} with large numbers) or fewer alternatives"
        )
    return BoundedRegex(pattern, compiled, program_size)


def _refusal(error: str) -> str:
    """Why RE2 refused a pattern and what to write instead, read after the quoted pattern."""
    if error.startswith(_PERL_OPERATOR):
        opener = error[len(_PERL_OPERATOR) :]
        if opener in _UNSUPPORTED_GROUPS:
            what, instead = _UNSUPPORTED_GROUPS[opener]
            return f"uses {what}, {_UNSUPPORTED}; {instead}"
        if opener == "(?>":
            return f"uses an atomic group (?>…): {_NO_BACKTRACKING}; write (?:…) instead"
        if opener == "(?#":
            return "uses a comment (?#…), which RE2 does not support; remove it"
        return (
            f"does not compile: {error}. RE2 supports the inline flags i, m, s and U only (no x "
            "for verbose patterns: remove the spaces and comments)"
        )
    if _BACKREFERENCE.match(error):
        return (
            f"uses a backreference ({error[len('invalid escape sequence: ') :]}), {_UNSUPPORTED}; "
            "list the alternatives explicitly, or compare the values in separate rules"
        )
    if _POSSESSIVE.match(error):
        return (
            f"uses a possessive quantifier ({error[len('bad repetition operator: ') :]}): "
            f"{_NO_BACKTRACKING}; drop the second +"
        )
    if error.startswith("invalid repetition size"):
        return (
            f"does not compile: {error}. RE2 allows repetition counts up to 1000, and nested "
            "counts multiply ({100} inside {11} is 1,100); use + or *, or smaller counts"
        )
    if error.startswith("pattern too large"):
        return (
            f"needs more than {REGEX_MAX_MEMORY_BYTES // 1024:,} KiB once compiled, the limit "
            "of one pattern; use smaller repetition counts (+ or * instead of {n,m}) or fewer "
            "alternatives"
        )
    return f"does not compile: {error}"


def _re2_syntax(pattern: str) -> str:
    """The pattern with the Python spellings RE2 lacks translated (see the module docstring)."""
    if "\\" not in pattern and "{," not in pattern:
        return pattern
    out = []
    in_class = False
    index, end = 0, len(pattern)
    while index < end:
        char = pattern[index]
        if char == "\\" and index + 1 < end:
            escape = pattern[index + 1]
            if escape == "Z" and not in_class:
                out.append("\\z")
                index += 2
                continue
            code, length = _code_point_escape(pattern, index)
            if code is not None:
                out.append(f"\\x{{{code:X}}}")
                index += length
                continue
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # A ']' first in a class (after an optional '^') is a literal in both syntaxes.
            lookahead = index + 1
            if lookahead < end and pattern[lookahead] == "^":
                lookahead += 1
            if lookahead < end and pattern[lookahead] == "]":
                out.append(pattern[index : lookahead + 1])
                index = lookahead + 1
                continue
        elif char == "{" and pattern.startswith("{,", index):
            closing = pattern.find("}", index)
            if closing > index + 2 and pattern[index + 2 : closing].isdigit():
                out.append("{0," + pattern[index + 2 : closing] + "}")
                index = closing + 1
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _code_point_escape(pattern: str, index: int) -> tuple[int | None, int]:
    """(code point, length) of a \\uXXXX, \\UXXXXXXXX or \\N{NAME} escape at `index`."""
    escape = pattern[index + 1]
    digits = {"u": 4, "U": 8}.get(escape)
    if digits is not None:
        text = pattern[index + 2 : index + 2 + digits]
        if len(text) == digits and all(c in "0123456789abcdefABCDEF" for c in text):
            return int(text, 16), 2 + digits
        raise RegexRefused(
            f"does not compile: \\{escape} needs exactly {digits} hexadecimal digits"
        )
    if escape == "N" and pattern.startswith("{", index + 2):
        closing = pattern.find("}", index + 3)
        name = pattern[index + 3 : closing] if closing > 0 else ""
        try:
            return ord(unicodedata.lookup(name)), closing - index + 1
        except KeyError as error:
            raise RegexRefused(
                f"does not compile: \\N{{{name}}} names no Unicode character"
            ) from error
    return None, 0
