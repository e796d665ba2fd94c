"""The OpenAPI document a client generator reads (issue #17): what each operation declares.

One content type per body, OpenAPI 3.1 nullables, exact security schemes, X-Tenant everywhere it
is read, typed trace items and import bodies, tags per resource, operationIds without the
version prefix, and evaluate and batch described for integrators with examples.
"""

import pytest
from openapi_spec_validator import validate as openapi_validate

from tests.support.openapi_contract import live_schema

pytestmark = pytest.mark.smoke

RESOURCE_TAGS = {
    "rulesets",
    "rules",
    "conditions",
    "actions",
    "attributes",
    "patterns",
    "test-cases",
    "api-clients",
    "evaluate",
    "execution-logs",
    "stats",
    "backtest",
    "health",
    "original system",
}
EVALUATE, BATCH = "/api/v1/evaluate", "/api/v1/evaluate/batch"
# The original system's endpoints (executions/api/original.py): a token or X-API-Key, no session.
ORIGINAL_SYSTEM = {
    "/api/v1/rules/execute",
    "/api/v1/rules/{ruleset_name}/execute",
    "/api/v1/rules/batch",
    "/api/v1/rules/execute-by-ids",
    "/api/v1/rules/execute-dmn",
    "/api/v1/rules/execute-dmn-upload",
    "/api/v1/executions",
}


def operations():
    for path, methods in live_schema()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def api_operations():
    return [(p, m, o) for p, m, o in operations() if p.startswith("/api/v1/")]


def walk(node, where="#"):
    """Every (JSON pointer, dict) of the document."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def component(name):
    return live_schema()["components"]["schemas"][name]


def resolved(schema):
    if "$ref" in schema:
        return component(schema["$ref"].rsplit("/", 1)[1])
    return schema


def test_the_document_is_valid_openapi_3_1_and_generated_without_warnings():
    schema = live_schema()
    assert schema["openapi"] == "3.1.0"
    openapi_validate(schema)

    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    # A warning is a view drf-spectacular could not describe (as `spectacular --fail-on-warn`).
    assert not GENERATOR_STATS, (
        dict(GENERATOR_STATS._warn_cache),
        dict(GENERATOR_STATS._error_cache),
    )


def test_every_request_body_is_json_only():
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for path, method, operation in operations()
        if "requestBody" in operation
    }
    assert bodies, "no operation has a body"
    # The import also takes a DMN file as XML, said in its description: generated clients
    # (openapi-python-client) refuse an XML request body in the schema.
    # The one exception: the original's execute-dmn-upload, whose clients send a file as a form.
    upload = ("post", "/api/v1/rules/execute-dmn-upload")
    assert bodies.pop(upload) == ["multipart/form-data"]
    assert {types for types in map(tuple, bodies.values())} == {("application/json",)}, bodies


def test_no_openapi_30_nullable_is_left():
    for where, node in walk(live_schema()):
        assert "nullable" not in node, where
        alternatives = node.get("oneOf")
        if isinstance(alternatives, list):
            # An empty branch matches null as well as {type: null}: oneOf would refuse null.
            assert {} not in alternatives, where


def test_a_nullable_object_is_one_of_the_object_or_null():
    action = component("Evaluation")["properties"]["action"]
    assert action["oneOf"] == [
        {"$ref": "#/components/schemas/EvaluationAction"},
        {"type": "null"},
    ]
    assert component("Evaluation")["properties"]["action_recommendation"]["type"] == [
        "string",
        "null",
    ]


def test_operation_ids_have_no_version_prefix():
    ids = {operation["operationId"] for _, _, operation in operations()}
    assert not [name for name in ids if name.startswith("v1")]
    expected = {"rulesets_list", "evaluate_create", "evaluate_batch_create", "api_clients_create"}
    assert expected <= ids
    assert len(ids) == len(list(operations()))


def test_operations_are_tagged_per_resource():
    tags = {tag for _, _, operation in operations() for tag in operation["tags"]}
    assert tags == RESOURCE_TAGS
    assert all(len(operation["tags"]) == 1 for _, _, operation in operations())
    by_path = {(path, method): op["tags"][0] for path, method, op in operations()}
    assert by_path[("/api/v1/rulesets/{id}/backtest", "post")] == "backtest"
    assert by_path[(BATCH, "post")] == "evaluate"
    assert by_path[("/healthz", "get")] == "health"
    assert [tag["name"] for tag in live_schema()["tags"]] == sorted(
        RESOURCE_TAGS, key=[tag["name"] for tag in live_schema()["tags"]].index
    )


def test_token_scheme_names_its_prefix():
    schemes = live_schema()["components"]["securitySchemes"]
    token = schemes["Token"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    assert "`Authorization: Token <key>`" in token["description"]
    assert "Bearer" in token["description"]
    assert set(schemes) == {"Token", "cookieAuth", "ApiKey"}
    api_key = schemes["ApiKey"]
    assert (api_key["type"], api_key["in"], api_key["name"]) == ("apiKey", "header", "X-API-Key")


def test_session_is_listed_only_where_it_is_accepted():
    for path, method, operation in api_operations():
        schemes = [name for requirement in operation["security"] for name in requirement]
        if path in (EVALUATE, BATCH):
            assert schemes == ["Token"], path  # evaluate and batch answer 401 to a session
        elif path in ORIGINAL_SYSTEM:
            assert schemes == ["Token", "ApiKey"], (method, path)
        else:
            assert schemes == ["Token", "cookieAuth"], (method, path)
    health = live_schema()["paths"]["/healthz"]["get"]
    assert health["security"] == []


def test_every_api_operation_declares_the_tenant_header():
    for path, method, operation in api_operations():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        expected = ["X-Tenant"]
        if path in (EVALUATE, BATCH):
            expected += ["Idempotency-Key", "X-Request-ID", "X-Correlation-ID"]
        if path in ORIGINAL_SYSTEM and method == "post":
            expected += ["X-Correlation-ID"]
        assert sorted(p["name"] for p in headers) == sorted(expected), (method, path)
        assert all(header["description"] for header in headers)


def test_trace_items_are_typed():
    trace = component("Evaluation")["properties"]["trace"]
    item = resolved(trace["items"])
    assert {"rule_id", "priority", "condition", "value", "matched", "reason", "points"} <= set(
        item["required"]
    )
    reasons = resolved(item["properties"]["reason"]["allOf"][0])
    assert set(reasons["enum"]) == {"matched", "not_matched", "missing", "null", "type_mismatch"}
    conditions = resolved(item["properties"]["conditions"]["items"])
    assert {"condition_id", "matched", "reason"} <= set(conditions["required"])
    batch_item = component("BatchItem")
    assert resolved(batch_item["properties"]["trace"]["items"]) == item


def test_import_body_is_one_of_the_document_and_the_original_formats():
    body = live_schema()["paths"]["/api/v1/rulesets/import"]["post"]["requestBody"]
    schema = resolved(body["content"]["application/json"]["schema"])
    formats = [resolved(option) for option in schema["oneOf"]]
    assert [sorted(option["required"]) for option in formats] == [
        ["ruleset"],
        ["rules_set"],
        ["conditions_set", "rules_set"],
    ]
    spec = formats[0]["properties"]
    rule = resolved(spec["rules"]["items"])
    assert rule["required"] == ["rule_id"]
    assert {"attribute", "condition", "constant", "conditions", "weight"} <= set(rule["properties"])


def test_evaluate_and_batch_are_described_for_integrators_with_examples():
    for path in (EVALUATE, BATCH):
        operation = live_schema()["paths"][path]["post"]
        description = operation["description"]
        assert "Authorization: Token <key>" in description
        assert "JSON: content negotiation" not in description  # the view's docstring
        assert len(description) > 400
        request_examples = operation["requestBody"]["content"]["application/json"]["examples"]
        response_examples = operation["responses"]["200"]["content"]["application/json"]
        assert request_examples and response_examples["examples"]
        assert set(request_examples) <= set(response_examples["examples"])


def test_error_answers_follow_what_the_operation_does():
    paths = live_schema()["paths"]
    evaluate = paths[EVALUATE]["post"]["responses"]
    assert {"400", "401", "403", "404", "406", "409", "413", "415", "422", "429", "503"} <= set(
        evaluate
    )
    listing = paths["/api/v1/rulesets"]["get"]["responses"]
    assert {"413", "415", "429"}.isdisjoint(listing)  # no body, no throttle
    activate = paths["/api/v1/rulesets/{id}/activate"]["post"]["responses"]
    assert {"413", "415"}.isdisjoint(activate)  # takes no body
    for _, _, operation in api_operations():
        for code, response in operation["responses"].items():
            assert response["description"], (operation["operationId"], code)
