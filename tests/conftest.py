"""Database side of the pytest configuration, shared by every test package.

scripts/run_tests.py runs the suite three times with DATABASE_URL pointing at PostgreSQL
(``-m "not timescaledb"``), at an in-memory TimescaleDB (``-m timescaledb``) and at SQLite
(``-m smoke``).

Markers (pyproject.toml): ``timescaledb`` and ``postgres`` tests need that database and are
skipped, with the reason, on any other; ``browser`` tests need Chromium (tests/browser/conftest.py
skips them without it, except under CI=true where that fails); ``slow`` tests start real servers
or run outage, load or fuzzing loops. ``make test-quick`` leaves out slow, browser and timescaledb.

On the TimescaleDB phase the server is PGlite behind pglite-socket (tests/support/
timescaledb_server.py). pytest-django's usual test database creation works there unchanged:
``CREATE DATABASE test_postgres`` succeeds, and since the server ignores database names every
connection lands in the one served database, which is fresh for each run. The per-test
transaction rollback works too, because everything runs on one connection. What does not work
is a second connection while the first is open (threads, live servers, xdist): the server
serves one at a time, so such tests belong to the PostgreSQL phase.
"""

import os
import uuid

import boto3
import pytest

from rules.choices import Role
from rules.services import active_rulesets
from tests.factories import MembershipFactory, TenantFactory
from tests.support import TEST_DATA
from tests.support.s3_server import s3_server as run_s3_server

S3_REGION = "us-east-1"
TIMESCALE_ENGINE = "timescale.db.backends.postgresql"
POSTGRES_ENGINES = ("django.db.backends.postgresql", TIMESCALE_ENGINE)
MARKERS = (
    "timescaledb: needs the TimescaleDB backend (runs in the TimescaleDB phase only)",
    "smoke: also runs on the embedded SQLite database",
    "postgres: needs PostgreSQL as the default database (skipped on SQLite)",
    "browser: drives Debian's Chromium with Playwright (skipped without it, fails under CI=true)",
    "slow: real app/database servers, outage, load or fuzzing runs, or more than a few seconds",
)


def is_timescaledb() -> bool:
    """True when the default database is the TimescaleDB backend (django-timescaledb)."""
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == TIMESCALE_ENGINE


def is_postgresql() -> bool:
    """True when the default database is PostgreSQL (TimescaleDB included)."""
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] in POSTGRES_ENGINES


def pytest_configure(config: pytest.Config) -> None:
    # Also listed in pyproject.toml; registering twice is harmless and keeps --strict-markers
    # working when pytest is pointed at another config file.
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not is_postgresql():
        # A plain `pytest` on the embedded SQLite database skips what needs PostgreSQL.
        skip_postgres = pytest.mark.skip(
            reason="needs PostgreSQL: set DATABASE_URL=postgres://... or use scripts/run_tests.py"
        )
        for item in items:
            if item.get_closest_marker("postgres"):
                item.add_marker(skip_postgres)
    if is_timescaledb():
        # The pglite server has one session: parallel workers would share (and corrupt) it.
        if config.getoption("numprocesses", default=None):
            raise pytest.UsageError("the TimescaleDB test server cannot be used with pytest -n")
        return
    # A plain `pytest` on another database skips these instead of failing in a confusing way.
    skip = pytest.mark.skip(
        reason="needs the TimescaleDB backend: scripts/run_tests.py --only timescaledb"
    )
    for item in items:
        if item.get_closest_marker("timescaledb"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_is_timescaledb() -> bool:
    """For tests that assert backend-specific details (hypertable vs plain table)."""
    return is_timescaledb()


@pytest.fixture(autouse=True)
def _process_caches_clear():
    """Caches live per process; a test must not see tokens or versions of an earlier test.

    Tests roll back rather than commit, so no change notification clears them. This is the one
    copy for the whole suite: test modules need no caches fixture of their own.
    """
    from rules.change_notifications import caches_clear

    caches_clear()
    yield
    caches_clear()


@pytest.fixture(autouse=True)
def _api_responses_within_schema(monkeypatch):
    """Every response DRF's APIClient receives is checked against the live OpenAPI schema
    (tests/support/openapi_contract.py): an answer the schema does not describe fails the test."""
    from rest_framework.test import APIClient

    from tests.support.openapi_contract import schema_checked

    monkeypatch.setattr(APIClient, "request", schema_checked(APIClient.request))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, plus: stop the log writer and change listener before the test database
    is dropped. Both hold their own connection to it, and DROP DATABASE fails while one is open.
    """
    from django.conf import settings

    # Test users need passwords, not protection against brute force: hash in microseconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    from executions.log_writer import log_writer_stop
    from rules.change_notifications import change_listener_stop

    log_writer_stop()
    change_listener_stop()


# Tenants and members: tenant(s) acme and globex, member(role) -> a user with that role.
@pytest.fixture
def tenant(db):
    return TenantFactory(slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="globex")


@pytest.fixture
def member(tenant):
    """member(role) -> a user with that role in `tenant`."""

    def make(role, *, username=None, in_tenant=None):
        membership = MembershipFactory(
            tenant=in_tenant or tenant,
            role=role,
            **({"user__username": username} if username else {}),
        )
        return membership.user

    return make


@pytest.fixture
def author(member):
    return member(Role.AUTHOR, username="alice")


@pytest.fixture
def approver(member):
    return member(Role.APPROVER, username="bob")


# S3 (a real moto server process) and snapshot storage.
@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server process for the whole session, with test credentials in the environment."""
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": S3_REGION,
    }
    saved = {name: os.environ.get(name) for name in credentials}
    os.environ.update(credentials)
    try:
        with run_s3_server() as endpoint:
            yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3(s3_endpoint, settings):
    """A fresh, empty bucket on the S3 server; settings point the product at the server."""
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = S3_REGION
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=S3_REGION)
    bucket = f"rules-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    return client


@pytest.fixture(autouse=True)
def snapshot_root(tmp_path, settings):
    """Snapshots go to a per-test folder; no bucket unless a test sets one."""
    settings.SNAPSHOT_ROOT = tmp_path / "snapshots"
    settings.RULES_CONFIG_PATH = tmp_path / "snapshots"
    settings.S3_BUCKET = ""
    settings.S3_PREFIX = ""
    settings.USE_DATABASE = True
    active_rulesets.compiled_cache_clear()
    return settings.SNAPSHOT_ROOT


@pytest.fixture
def data_path():
    return lambda name: str(TEST_DATA / name)
