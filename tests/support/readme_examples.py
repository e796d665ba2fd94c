"""The README's shell examples, read from README.md and run with bash and the real curl.

An example is a ```bash block preceded by comment lines that mark it:

    <!-- example -->                                      runs it; no curl call to check
    <!-- expect: 201 {"id", "version": "1.1"} -->         one line per curl call, in call order

An expectation is a status code and optionally the JSON object's keys: a bare key must be present,
`"key": value` must equal the value (dotted keys reach into objects and lists: "results.0.id").
Examples run in README order, each in its own bash, with the variables earlier examples assigned.
A `curl` shell function wraps the real binary: the body still goes wherever the command sends it
(a pipe, a file), and a copy of it and the status are recorded for the check.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
# The README's examples talk to `make run`'s server; the test points them at its own.
README_ORIGIN = "http://127.0.0.1:8000"

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*(example|expect:(?P<expect>.*?))\s*-->\s*$")
_ASSIGNED = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)
_PRESENT = object()  # an expectation that names a key without a value

_PRELUDE = r"""
set -eo pipefail
shopt -s inherit_errexit
curl() {
    local record
    record=$(mktemp "$README_CALLS/call.XXXXXX")
    printf '%s\n' "$record" >> "$README_CALLS/index"
    command curl -w '%{stderr}\n%{http_code}\n' "$@" 2> "$record.status" | tee "$record.body"
}
"""


class ExpectationSyntaxError(ValueError):
    pass


@dataclass
class Expectation:
    status: int
    keys: dict = field(default_factory=dict)  # dotted key -> value, or _PRESENT
    text: str = ""

    def problems(self, status: int, body: bytes) -> list[str]:
        if status != self.status:
            return [f"status {status}, expected {self.status}"]
        if not self.keys:
            return []
        try:
            document = json.loads(body)
        except ValueError:
            return ["the body is not JSON"]
        problems = []
        for key, expected in self.keys.items():
            found, value = _lookup(document, key)
            if not found:
                problems.append(f"no {key!r}")
            elif expected is not _PRESENT and value != expected:
                problems.append(f"{key!r} is {value!r}, expected {expected!r}")
        return problems


@dataclass
class Example:
    line: int  # of the opening fence in README.md, for messages
    code: str
    expectations: list[Expectation]


@dataclass
class CurlCall:
    status: int
    body: bytes
    stderr: str


def _lookup(document, dotted: str):
    value = document
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def expectation_parse(text: str) -> Expectation:
    """`201 {"id", "version": "1.1"}` -> Expectation(201, {"id": present, "version": "1.1"})."""
    text = text.strip()
    match = re.match(r"(\d{3})\s*", text)
    if not match:
        raise ExpectationSyntaxError(f"{text!r}: an expectation starts with a status code")
    keys: dict = {}
    rest, position = text, match.end()
    if position < len(rest):
        decoder = json.JSONDecoder()
        if rest[position] != "{" or not rest.endswith("}"):
            raise ExpectationSyntaxError(f"{text!r}: keys go in one {{...}} after the status")
        position += 1
        while True:
            position = _skip_spaces(rest, position)
            if rest[position] == "}":
                break
            key, position = decoder.raw_decode(rest, position)
            if not isinstance(key, str):
                raise ExpectationSyntaxError(f"{text!r}: {key!r} is not a quoted key")
            position = _skip_spaces(rest, position)
            value = _PRESENT
            if rest[position] == ":":
                value, position = decoder.raw_decode(rest, _skip_spaces(rest, position + 1))
                position = _skip_spaces(rest, position)
            keys[key] = value
            if rest[position] == ",":
                position += 1
            elif rest[position] != "}":
                raise ExpectationSyntaxError(f"{text!r}: expected ',' or '}}' at {position}")
    return Expectation(int(match.group(1)), keys, text)


def _skip_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    if position >= len(text):
        raise ExpectationSyntaxError(f"{text!r}: ends too early")
    return position


def bash_blocks(readme: Path = README) -> list[tuple[int, str, list[str]]]:
    """Every ```bash block: (line of its fence, code, the comment marks right before it)."""
    lines = readme.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        marks, above = [], index - 1
        while above >= 0 and _MARK.match(lines[above]):
            marks.insert(0, lines[above])
            above -= 1
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if fence.group(1) == "bash":
            blocks.append((index + 1, "\n".join(lines[index + 1 : end]) + "\n", marks))
        index = end + 1
    return blocks


def readme_examples(readme: Path = README) -> list[Example]:
    examples = []
    for line, code, marks in bash_blocks(readme):
        if not marks:
            continue
        expectations = []
        for mark in marks:
            expect = _MARK.match(mark).group("expect")
            if expect is not None:
                try:
                    expectations.append(expectation_parse(expect))
                except ExpectationSyntaxError as error:
                    raise ExpectationSyntaxError(f"README.md line {line}: {error}") from None
        examples.append(Example(line, code, expectations))
    return examples


class ExampleRunner:
    """Runs examples one after another in `directory`, carrying their shell variables on."""

    def __init__(self, directory: Path, *, origin: str, environment: dict):
        self.directory = directory
        self.origin = origin
        self.environment = environment
        self.state = directory / ".readme-variables.sh"
        self.state.write_text("")
        self.names: list[str] = []

    def run(self, example: Example, *, timeout: float = 120) -> tuple[list[CurlCall], str]:
        """(the curl calls it made, in order, and its stdout); raises on a non-zero exit."""
        code = example.code.replace(README_ORIGIN, self.origin)
        self.names += [name for name in _ASSIGNED.findall(code) if name not in self.names]
        calls = self.directory / f".readme-calls-{example.line}"
        calls.mkdir()
        script = self.directory / f".readme-example-{example.line}.sh"
        keep = " ".join(self.names)
        script.write_text(
            f"{_PRELUDE}\nsource {self.state}\n{code}\n"
            + (f"declare -p {keep} > {self.state} 2>/dev/null || true\n" if keep else "")
        )
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", str(script)],
            cwd=self.directory,
            env={**self.environment, "README_CALLS": str(calls)},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"README.md line {example.line}: the example exited with {result.returncode}\n"
                f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
            )
        index = calls / "index"
        records = index.read_text().split() if index.exists() else []
        made = []
        for record in records:
            stderr = Path(f"{record}.status").read_text()
            status_lines = [line for line in stderr.splitlines() if line.strip()]
            made.append(
                CurlCall(int(status_lines[-1]), Path(f"{record}.body").read_bytes(), stderr)
            )
        return made, result.stdout
