"""A Python client generated from the live schema runs an integrator's whole flow (issue #17).

`openapi-python-client` generates the client from the schema `/api/schema/` serves, into a
temporary folder; the test imports it and drives a real gunicorn server on real PostgreSQL with
it: authoring (tags, metadata, an action's configuration, a pattern with and without an action,
a test case), activation, evaluations (single, batch, dry run), the logs page by page, statistics,
and an API client created and revoked. Every response is also checked against the schema.

Before: the schema declared multipart bodies, so the client sent lists doubled, could not send a
dict field at all, got a 400 for a pattern without an action, and its api_clients_create module
did not import (`NameError: Unset`).
"""

import importlib
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import orjson
import pytest
from django.db import connection

from rules.choices import Role
from rules.services.api_clients import api_client_create
from tests.factories import TenantFactory
from tests.support.app_server import AppServer, database_url_of
from tests.support.openapi_contract import httpx_response_problems, live_schema

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PACKAGE = "ruleengine_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package generated from the live schema, imported from a temporary folder."""
    folder = tmp_path_factory.mktemp("generated_client")
    schema = folder / "schema.json"
    schema.write_bytes(orjson.dumps(live_schema()))
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated code
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # Any warning means a piece of the schema the generator could not turn into code.
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(folder))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(folder))
        for module in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[module]


@pytest.fixture
def served(transactional_db):
    tenant = TenantFactory(slug="acme")
    _, token = api_client_create(tenant=tenant, name="integrator", role=Role.ADMIN)
    with AppServer(database_url_of(connection.settings_dict), workers=2) as server:
        yield server, token


def schema_checked_client(generated, server, token, *, prefix="Bearer"):
    """The generated AuthenticatedClient, every response checked against the schema."""
    problems = []

    def check(response):
        problems.extend(
            f"{response.request.method} {response.request.url}: {problem}"
            for problem in httpx_response_problems(response)
        )

    client = generated("client").AuthenticatedClient(
        base_url=f"http://127.0.0.1:{server.port}",
        token=token,
        prefix=prefix,
        raise_on_unexpected_status=True,
        httpx_args={"event_hooks": {"response": [check]}},
    )
    return client, problems


def test_generated_client_runs_the_whole_integration_flow(generated, served):
    server, token = served
    models = generated("models")
    api = lambda module: generated(f"api.{module}")  # noqa: E731
    # The generated client's default prefix is Bearer: an accepted alias of Token.
    client, problems = schema_checked_client(generated, server, token)

    # --- Authoring: a ruleset with tags and metadata, an action with a configuration -------
    ruleset = api("rulesets.rulesets_create").sync(
        client=client,
        body=models.RulesetRequest(
            name="loan_policy",
            version="1.0",
            description="Loans",
            tags=["retail", "risk"],
            metadata=models.RulesetRequestMetadata.from_dict(
                {"owner": "risk-team", "review": {"every_days": 90}}
            ),
        ),
    )
    assert isinstance(ruleset, models.Ruleset), ruleset
    assert ruleset.tags == ["retail", "risk"]  # multipart stored ["retail", "risk"] twice
    assert ruleset.metadata.to_dict() == {"owner": "risk-team", "review": {"every_days": 90}}

    action = api("actions.actions_create").sync(
        client=client,
        body=models.ActionRequest(
            action_id="A_APPROVE",
            name="Approve",
            action_type="decision",
            configuration=models.ActionRequestConfiguration.from_dict(
                {"queue": "auto", "limits": {"amount": 50000}}
            ),
        ),
    )
    assert isinstance(action, models.Action), action
    assert action.configuration.to_dict() == {"queue": "auto", "limits": {"amount": 50000}}

    for rule_id, attribute, operator, constant, points in (
        ("R1", "credit_score", "greater_than", "700", 100),
        ("R2", "income", "greater_than_or_equal", "50000", 50),
    ):
        rule = api("rules.rules_create").sync(
            client=client,
            body=models.RuleRequest(
                ruleset=ruleset.id,
                rule_id=rule_id,
                rule_name=rule_id,
                attribute=attribute,
                condition=operator,
                constant=constant,
                rule_point=points,
                priority=1,
                tags=["scoring"],
            ),
        )
        assert isinstance(rule, models.Rule), rule
        assert rule.tags == ["scoring"]

    create_pattern = api("patterns.patterns_create").sync
    approve = create_pattern(
        client=client,
        body=models.PatternRequest(
            ruleset=ruleset.id, pattern_key="YY", action_recommendation="APPROVE", action=action.id
        ),
    )
    assert isinstance(approve, models.Pattern), approve
    assert approve.action == action.id
    # An explicit null action: a 400 when the client sent multipart.
    review = create_pattern(
        client=client,
        body=models.PatternRequest(
            ruleset=ruleset.id, pattern_key="Y-", action_recommendation="REVIEW", action=None
        ),
    )
    assert isinstance(review, models.Pattern), review
    assert review.action is None
    for key in ("-Y", "--"):  # no action at all
        declined = create_pattern(
            client=client,
            body=models.PatternRequest(
                ruleset=ruleset.id, pattern_key=key, action_recommendation="DECLINE"
            ),
        )
        assert isinstance(declined, models.Pattern), declined

    test_case = api("test_cases.test_cases_create").sync(
        client=client,
        body=models.RulesetTestCaseRequest(
            ruleset=ruleset.id,
            name="strong applicant",
            input_data=models.RulesetTestCaseRequestInputData.from_dict(
                {"credit_score": 760, "income": 90000, "history": {"loans": 2}}
            ),
            expected_pattern_result="YY",
            expected_action_recommendation="APPROVE",
            expected_matched_rules=["R1", "R2"],
        ),
    )
    assert isinstance(test_case, models.RulesetTestCase), test_case
    assert test_case.input_data.to_dict()["history"] == {"loans": 2}

    # --- Activation (runs the test case) -----------------------------------------------------
    activated = api("rulesets.rulesets_activate_create").sync(
        client=client, id=ruleset.id, x_tenant="acme"
    )
    assert isinstance(activated, models.RulesetActivation), activated
    assert activated.status == models.RulesetStatusEnum.ACTIVE
    assert activated.warnings == []

    # --- Evaluations ---------------------------------------------------------------------------
    evaluate = api("evaluate.evaluate_create").sync
    approved = evaluate(
        client=client,
        body=models.EvaluateRequest(
            ruleset="loan_policy",
            data=models.EvaluateRequestData.from_dict({"credit_score": 720, "income": 65000}),
        ),
    )
    assert isinstance(approved, models.Evaluation), approved
    assert (approved.pattern_result, approved.action_recommendation) == ("YY", "APPROVE")
    assert approved.action.configuration.to_dict() == {"queue": "auto", "limits": {"amount": 50000}}
    assert approved.execution_id is not None

    reviewed = evaluate(
        client=client,
        body=models.EvaluateRequest(
            ruleset="loan_policy",
            data=models.EvaluateRequestData.from_dict({"credit_score": 720, "income": 20000}),
        ),
    )
    assert isinstance(reviewed, models.Evaluation), reviewed
    assert (reviewed.action_recommendation, reviewed.action) == ("REVIEW", None)

    batch = api("evaluate.evaluate_batch_create").sync(
        client=client,
        body=models.EvaluateBatchRequest(
            ruleset="loan_policy",
            items=[
                models.EvaluateBatchRequestItemsItem.from_dict({"credit_score": s, "income": 60000})
                for s in (650, 710, 800)
            ],
        ),
    )
    assert isinstance(batch, models.BatchEvaluation), batch
    assert (batch.count, batch.errors) == (3, 0)
    assert [item.pattern_result for item in batch.results] == ["-Y", "YY", "YY"]

    dry_run = evaluate(
        client=client,
        body=models.EvaluateRequest(
            ruleset="loan_policy",
            dry_run=True,
            data=models.EvaluateRequestData.from_dict({"credit_score": 720}),
        ),
    )
    assert isinstance(dry_run, models.Evaluation), dry_run
    assert dry_run.execution_id is None
    assert [(step.rule_id, step.reason) for step in dry_run.trace] == [
        ("R1", models.TraceReasonEnum.MATCHED),
        ("R2", models.TraceReasonEnum.MISSING),
    ]

    # --- The log, page by page, and statistics -----------------------------------------------
    list_logs = api("execution_logs.execution_logs_list").sync
    seen, cursor, pages = [], None, 0
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = list_logs(client=client, ruleset="loan_policy", page_size=2, **kwargs)
        assert isinstance(page, models.PaginatedExecutionLogSummaryList), page
        seen += [log.execution_id for log in page.results]
        pages += 1
        if not page.next_:
            break
        cursor = parse_qs(urlparse(page.next_).query)["cursor"][0]
    assert pages == 3  # 5 logged evaluations (the dry run is not logged), 2 per page
    assert len(set(seen)) == 5 and approved.execution_id in seen

    stats = api("stats.stats_retrieve").sync(client=client, ruleset="loan_policy")
    assert isinstance(stats, models.Stats), stats
    assert stats.summary.count == 5
    assert stats.summary.recommendations.to_dict() == {"APPROVE": 3, "REVIEW": 1, "DECLINE": 1}

    # --- An API client, created and revoked (its module did not import before) ---------------
    created = api("api_clients.api_clients_create").sync(
        client=client,
        body=models.ApiClientCreateRequest(name="loan-app", role=models.RoleEnum.VIEWER),
    )
    assert isinstance(created, models.ApiClientToken), created
    app, _ = schema_checked_client(generated, server, created.token, prefix="Token")
    request = models.EvaluateRequest(
        ruleset="loan_policy", data=models.EvaluateRequestData.from_dict({"credit_score": 800})
    )
    assert isinstance(evaluate(client=app, body=request), models.Evaluation)

    revoked = api("api_clients.api_clients_revoke_create").sync(client=client, id=created.client.id)
    assert isinstance(revoked, models.ApiClient), revoked
    assert revoked.revoked_at is not None
    refused = None
    deadline = time.monotonic() + 5  # every worker drops the token at the commit's NOTIFY
    while time.monotonic() < deadline:
        refused = api("evaluate.evaluate_create").sync_detailed(client=app, body=request)
        if refused.status_code == 401:
            break
        time.sleep(0.1)
    assert refused.status_code == 401, refused.content
    assert isinstance(refused.parsed, models.ErrorResponse)

    assert problems == []


def test_every_generated_module_imports(generated):
    import pkgutil

    api_package = generated("api")
    prefix = f"{PACKAGE}.api."
    modules = [info.name for info in pkgutil.walk_packages(api_package.__path__, prefix)]
    for name in modules:
        importlib.import_module(name)
    assert f"{prefix}api_clients.api_clients_create" in modules
    assert f"{prefix}evaluate.evaluate_create" in modules
    assert len(modules) > 60  # 55 operations in 12 tag packages
