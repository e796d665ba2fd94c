"""The README's curl examples run, in order, against a fresh demo, and answer what they say.

The examples are read from README.md (tests/support/readme_examples.py), so they cannot drift from
what CI runs. The server is a real gunicorn on PostgreSQL with the demo seeded by `manage.py
seed_demo` as `make run` does; the examples' own `manage.py create_api_client` lines make the
tokens, in a shell with none of the test run's settings (no SECRET_KEY, no DEBUG), as a reader's
shell would be. The only change made to them: `http://127.0.0.1:8000` becomes the test server.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.support.app_server import ROOT, AppServer, database_url_of
from tests.support.readme_examples import (
    Example,
    ExampleRunner,
    ExpectationSyntaxError,
    bash_blocks,
    expectation_parse,
    readme_examples,
)


def test_every_readme_block_that_calls_curl_is_an_example_with_expectations():
    examples = {example.line: example for example in readme_examples()}
    unchecked = [
        line
        for line, code, _ in bash_blocks()
        if "curl " in code and not examples.get(line, Example(line, "", [])).expectations
    ]
    assert unchecked == [], f"```bash blocks with curl but no <!-- expect --> lines: {unchecked}"
    assert sum(len(example.expectations) for example in examples.values()) >= 10


def test_expectations_name_the_status_and_the_keys():
    expectation = expectation_parse('201 {"id", "version": "1.1", "ruleset.id": 3}')
    assert expectation.status == 201
    assert expectation.problems(201, b'{"id": 9, "version": "1.1", "ruleset": {"id": 3}}') == []
    assert expectation.problems(200, b"{}") == ["status 200, expected 201"]
    assert expectation.problems(201, b'{"version": "1.0", "ruleset": {}}') == [
        "no 'id'",
        "'version' is '1.0', expected '1.1'",
        "no 'ruleset.id'",
    ]
    assert expectation_parse("204").problems(204, b"") == []
    assert expectation_parse('200 {"results.0.id"}').problems(200, b'{"results": []}') == [
        "no 'results.0.id'"
    ]
    with pytest.raises(ExpectationSyntaxError):
        expectation_parse('{"id"}')
    with pytest.raises(ExpectationSyntaxError):
        expectation_parse('200 {"id" "version"}')


@pytest.fixture
def demo_server(transactional_db):
    database_url = database_url_of(connection.settings_dict)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "DEBUG": "true"},
        check=True,
        capture_output=True,
    )
    with AppServer(database_url, workers=2) as server:
        yield server, database_url


@pytest.mark.postgres
@pytest.mark.slow
def test_readme_examples_run_in_order_against_the_demo(demo_server, tmp_path):
    if not (shutil.which("curl") and shutil.which("jq")):
        pytest.fail("the README's examples need curl and jq (`make test` installs them)")
    server, database_url = demo_server
    # The examples call `.venv/bin/python manage.py`, as from a checkout after `make run`.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "manage.py").symlink_to(ROOT / "manage.py")
    runner = ExampleRunner(
        tmp_path,
        origin=f"http://127.0.0.1:{server.port}",
        environment={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
        },
    )
    examples = readme_examples()
    checked = 0
    for example in examples:
        calls, _ = runner.run(example)
        assert len(calls) == len(example.expectations), (
            f"README.md line {example.line}: {len(calls)} curl calls, "
            f"{len(example.expectations)} <!-- expect --> lines"
        )
        pairs = zip(calls, example.expectations, strict=True)
        for number, (call, expectation) in enumerate(pairs, 1):
            problems = expectation.problems(call.status, call.body)
            assert not problems, (
                f"README.md line {example.line}, curl call {number} ({expectation.text}): "
                f"{'; '.join(problems)}\nbody: {call.body[:1500]!r}\ncurl: {call.stderr[-500:]}"
            )
            checked += 1
    assert checked >= 10
