"""A node under production settings, started as the Dockerfile starts it, behind a TLS proxy.

Nothing of the test run's settings reaches the server: DEBUG, SECURE_SSL_REDIRECT and
STATIC_MANIFEST keep their production defaults (off, on, on), ALLOWED_HOSTS names only the public
host, and the static files come from `collectstatic`. The load balancer's and Docker's health
probes are plain HTTP to the node's own address; the proxy forwards `X-Forwarded-Proto: https`.
"""

import http.client
import json
import os
import re
import shlex
import subprocess
import sys
import time

import pytest
from django.db import connection

from tests.support.app_server import ROOT, database_url_of, request
from tests.support.postgres_cluster import free_port

PUBLIC_HOST = "rules.example.com"
THROUGH_THE_PROXY = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def dockerfile_command() -> list[str]:
    """The Dockerfile's CMD, with this interpreter's gunicorn."""
    command = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1))
    assert command[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *command[1:]]


def dockerfile_healthcheck(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK command, pointed at `port` instead of the image's 8000."""
    line = re.search(r"^HEALTHCHECK .*? CMD (.*)$", DOCKERFILE, re.MULTILINE).group(1)
    command = shlex.split(line.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def production_environment(database_url: str, static_root, port: int) -> dict:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(static_root.parent),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "ruleengine.settings",
        "SECRET_KEY": "production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": PUBLIC_HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{PUBLIC_HOST}",
        "DATABASE_URL": database_url,
        "STATIC_ROOT": str(static_root),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }


def get(port: int, path: str, headers: dict):
    """(status, body, headers) of a plain-HTTP GET to the node, with exactly these headers."""
    node = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        return request(node, "GET", path, headers=headers)
    finally:
        node.close()


@pytest.fixture(scope="module")
def production_node(django_db_setup, django_db_blocker, tmp_path_factory):
    """One node for the module: it only reads the (migrated, empty) test database.

    Its tests carry the django_db mark: pytest-django creates the test database only for a run
    that has such tests.
    """
    port = free_port()
    with django_db_blocker.unblock():
        database_url = database_url_of(connection.settings_dict)
    environment = production_environment(
        database_url, tmp_path_factory.mktemp("production") / "static", port
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(dockerfile_command(), cwd=ROOT, env=environment)
    try:
        deadline, answer = time.monotonic() + 30, None
        while True:
            assert process.poll() is None, f"gunicorn exited with {process.returncode}"
            try:
                answer = get(port, "/healthz", {"Host": f"127.0.0.1:{port}"})
                if answer[0] == 200:
                    break
            except OSError as error:
                answer = error
            assert time.monotonic() < deadline, f"/healthz did not answer 200 in 30 s: {answer}"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db
def test_the_dockerfile_healthcheck_passes_under_production_settings(production_node):
    result = subprocess.run(
        dockerfile_healthcheck(production_node), capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.3.17:8000", "ip-10-0-3-17.internal"])
def test_healthz_answers_plain_http_from_a_load_balancer_whatever_the_host(production_node, host):
    status, body, headers = get(production_node, "/healthz", {"Host": host})
    assert status == 200, body
    assert body["status"] == "ok" and body["database"] == "postgresql"
    assert "Location" not in headers


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db
def test_other_pages_still_redirect_plain_http_and_check_the_host(production_node):
    status, _, headers = get(production_node, "/api/docs/", {"Host": PUBLIC_HOST})
    assert status == 301
    assert headers["Location"] == f"https://{PUBLIC_HOST}/api/docs/"
    evaluate = get(production_node, "/api/v1/evaluate", {"Host": PUBLIC_HOST})
    assert evaluate[0] == 301
    unknown_host = {**THROUGH_THE_PROXY, "Host": "attacker.example"}
    assert get(production_node, "/api/docs/", unknown_host)[0] == 400


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db
def test_api_docs_and_the_admin_are_served_through_the_proxy_with_collected_files(
    production_node,
):
    status, page, headers = get(production_node, "/api/docs/", THROUGH_THE_PROXY)
    assert status == 200, page[:500]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
    assert assets, page[:500]
    for asset in assets:
        # Hashed names from collectstatic's manifest, served by WhiteNoise.
        assert re.search(rb"\.[0-9a-f]{12}\.", asset), asset
        asset_status, _, asset_headers = get(production_node, asset.decode(), THROUGH_THE_PROXY)
        assert asset_status == 200, asset
        assert "immutable" in asset_headers.get("Cache-Control", ""), asset
    assert get(production_node, "/api/schema/", THROUGH_THE_PROXY)[0] == 200
    login_status, login_page, _ = get(production_node, "/admin/login/", THROUGH_THE_PROXY)
    assert login_status == 200, login_page[:500]


@pytest.mark.slow
def test_a_node_refuses_to_start_before_collectstatic_and_says_what_to_run(tmp_path):
    # It stops at loading the app, before any database connection.
    environment = production_environment(
        f"sqlite:///{tmp_path}/unused.sqlite3", tmp_path / "never-collected", free_port()
    )
    result = subprocess.run(
        dockerfile_command(), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "STATIC_MANIFEST is on" in result.stderr
    assert "python manage.py collectstatic --noinput" in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "('HTTP_X_FORWARDED_PROTO', 'https')"),
        ("X-Forwarded-Ssl-Proto", "('HTTP_X_FORWARDED_SSL_PROTO', 'https')"),
        ("", "None"),
    ],
)
def test_the_proxy_ssl_header_is_read_from_the_environment(value, expected):
    environment = {
        key: item for key, item in os.environ.items() if key not in ("ENV_FILE", "DATABASE_URL")
    }
    if value is not None:
        environment["SECURE_PROXY_SSL_HEADER"] = value
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "ruleengine.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
