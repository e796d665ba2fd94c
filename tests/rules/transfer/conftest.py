import os
import uuid
from pathlib import Path

import boto3
import pytest

from rules.models import Action, Condition, Pattern, Rule, RuleCondition, Ruleset
from rules.services import active_rulesets
from tests.support.s3_server import s3_server as run_s3_server

DATA = Path(__file__).parent / "data"
S3_REGION = "us-east-1"


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
    return lambda name: str(DATA / name)


def authoring_counts() -> dict:
    """Rows of every authoring table, to prove a failed import wrote nothing."""
    return {
        model.__name__: model.objects.count()
        for model in (Ruleset, Rule, RuleCondition, Pattern, Condition, Action)
    }
