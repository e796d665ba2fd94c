"""One input check everywhere: the API, `manage.py evaluate`, try-it, test cases (service, API
and admin form) refuse the same hostile inputs with the same messages naming where, never with
a 500 or a traceback, and never round an integer beyond 2^53 (issue 19, point 6).

Integers beyond ±(2^53 − 1) are refused rather than kept exact: browsers, most JSON tools and
orjson (beyond 64 bits) read them as doubles, so "kept exact end to end" would end at the first
reader of the log; and orjson turns an integer literal beyond 64 bits into a float before any
check sees it, so floats beyond the same bound are refused in inputs too.
"""

import json
from io import StringIO

import orjson
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from executions.services.input_check import InputRefused, evaluation_input_check
from ruleengine.input_check import MAX_EXACT_INTEGER, UnreadableNumber, json_text_load
from rules.choices import Role
from rules.models import RulesetTestCase
from rules.services import lifecycle, test_cases
from rules.services.api_clients import api_client_create
from tests.factories import MembershipFactory, credit_ruleset

BEYOND = "is beyond ±9,007,199,254,740,991 (2^53 − 1)"


def nested(depth: int) -> dict:
    value = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# The probe's hostile inputs as decoded values, with the message each gets (from `data`).
HOSTILE_VALUES = {
    "nan": ({"x": float("nan")}, "data.x: nan is not a number JSON can hold"),
    "infinity": ({"x": [1, float("inf")]}, "data.x[1]: inf is not a number JSON can hold"),
    "1e400_marked": ({"x": UnreadableNumber("1e400")}, "data.x: 1e400 is not a number JSON"),
    "2^53": ({"x": 2**53}, f"data.x: the integer 9007199254740992 {BEYOND}"),
    "minus_2^53": ({"x": {"y": -(2**53)}}, f"data.x.y: the integer -9007199254740992 {BEYOND}"),
    "2^64_read_by_orjson": (
        orjson.loads(b'{"x": 18446744073709551617}'),
        f"data.x: 1.8446744073709552e+19 {BEYOND}",
    ),
    "5000_digit_integer": ({"x": 10**4999}, f"data.x: the integer of about 5,000 digits {BEYOND}"),
    "5000_digit_integer_marked": (
        json_text_load('{"x": ' + "9" * 5000 + "}"),
        f"data.x: the integer of 5,000 digits {BEYOND}",
    ),
    "lone_surrogate": ({"x": "a\ud800"}, "data.x: a string contains a lone surrogate"),
    "lone_surrogate_key": ({"\udc00": 1}, "data: a key contains a lone surrogate"),
    "nul": ({"x": "a\x00"}, "data.x: strings may not contain NUL characters"),
    "5000_deep": (nested(5000), "nested deeper than 64 levels"),
}


@pytest.mark.parametrize("case", list(HOSTILE_VALUES), ids=list(HOSTILE_VALUES))
def test_the_input_check_refuses_each_hostile_value_naming_where(case):
    data, message = HOSTILE_VALUES[case]
    with pytest.raises(InputRefused) as refused:
        evaluation_input_check(data)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    "data",
    [
        {"x": MAX_EXACT_INTEGER, "y": -MAX_EXACT_INTEGER},
        {"x": 9007199254740991.0, "small": 1e-300, "ratio": 0.1},
        {"name": "Zoë 😀 名前", "emoji_key_😀": True, "none": None},
        nested(64),
    ],
)
def test_the_input_check_accepts_exact_numbers_unicode_and_64_levels(data):
    evaluation_input_check(data)


def test_json_text_load_reads_what_the_check_refuses_without_failing():
    text = '{"a": NaN, "b": [1e400, -Infinity], "c": ' + "9" * 5000 + ', "d": 12}'
    data = json_text_load(text)
    assert [type(data[k]) for k in "ac"] == [UnreadableNumber, UnreadableNumber]
    assert data["d"] == 12
    with pytest.raises(InputRefused, match="nested deeper than"):
        json_text_load("[" * 5000 + "]" * 5000)


# --- The API and the command line ----------------------------------------------------------


@pytest.fixture
def active(tenant):
    ruleset = credit_ruleset(tenant)
    return lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=None)


@pytest.fixture
def viewer_api(tenant):
    _, token = api_client_create(tenant=tenant, name="app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("9007199254740993", f"the integer 9007199254740993 {BEYOND}"),
        # orjson reads this as 1.8446744073709552e19: refused, not logged rounded.
        ("18446744073709551617", f"1.8446744073709552e+19 {BEYOND}"),
        ("-1e300", f"-1e+300 {BEYOND}"),
    ],
)
def test_evaluate_refuses_integers_it_cannot_keep_exact(viewer_api, active, number, message):
    body = '{"ruleset": "credit", "data": {"credit_score": 720, "id": ' + number + "}}"
    response = viewer_api.post("/api/v1/evaluate", body, content_type="application/json")
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]["data.id"]
    assert detail.startswith(message) and detail.endswith("send it as a string")
    (log,) = ExecutionLog.objects.all()
    assert not log.success and log.input_data == {} and message in log.error_message


def test_evaluate_keeps_the_largest_exact_integer_exact_in_the_log(viewer_api, active):
    body = {"ruleset": "credit", "data": {"credit_score": 720, "id": MAX_EXACT_INTEGER}}
    response = viewer_api.post("/api/v1/evaluate", body, format="json")
    assert response.status_code == 200
    assert ExecutionLog.objects.get().input_data["id"] == MAX_EXACT_INTEGER


EVALUATE_LINES = [
    (b'{"credit_score": 720, "income": 60000}', None),
    (b'{"credit_score": NaN}', "unexpected character"),
    (b'{"credit_score": 1e400}', "number is infinity"),
    (b'{"credit_score": ' + b"9" * 5000 + b"}", "number is infinity"),
    (b'{"id": 9007199254740993}', f"data.id: the integer 9007199254740993 {BEYOND}"),
    (b'{"id": 18446744073709551617}', f"data.id: 1.8446744073709552e+19 {BEYOND}"),
    (b'{"name": "\\ud800"}', "surrogate"),
    (b'{"name": "caf\xe9"}', "UTF-8"),
    (b"[" * 5000 + b"]" * 5000, "depth"),
    (b'{"a": ' * 70 + b"1" + b"}" * 70, "nested deeper than 64 levels"),
    (b'{"name": "a\\u0000b"}', "data.name: strings may not contain NUL characters"),
]


def test_manage_py_evaluate_answers_each_hostile_line_with_its_line_and_problem(active, tmp_path):
    source = tmp_path / "inputs.jsonl"
    source.write_bytes(b"\n".join(line for line, _ in EVALUATE_LINES) + b"\n")
    out, err = StringIO(), StringIO()
    call_command(
        "evaluate", "credit", "--tenant", "acme", "--input", str(source), stdout=out, stderr=err
    )
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(results) == len(EVALUATE_LINES)
    assert results[0]["pattern_result"] == "YY"
    for number, ((_, problem), result) in enumerate(zip(EVALUATE_LINES, results, strict=True), 1):
        if problem is not None:
            assert result["line"] == number and problem in result["error"], (number, result)
    assert f"1 evaluated, {len(EVALUATE_LINES) - 1} bad lines" in err.getvalue()


# --- Test cases: the service, the API and the admin form ------------------------------------

HOSTILE_TEST_CASE_INPUTS = {
    "nan": ({"score": float("nan")}, "input_data.score: nan is not a number JSON can hold"),
    "2^53_plus_1": ({"id": 2**53 + 1}, f"input_data.id: the integer 9007199254740993 {BEYOND}"),
    "5000_digit_integer": ({"id": 10**4999}, "input_data.id: the integer of about 5,000 digits"),
    "lone_surrogate": ({"name": "\udfff"}, "input_data.name: a string contains a lone surrogate"),
    "5000_deep": ({"a": nested(5000)}, "nested deeper than 64 levels"),
}


@pytest.mark.parametrize("case", list(HOSTILE_TEST_CASE_INPUTS), ids=list(HOSTILE_TEST_CASE_INPUTS))
def test_saving_a_test_case_refuses_a_hostile_input_on_its_field(tenant, case):
    data, message = HOSTILE_TEST_CASE_INPUTS[case]
    draft = credit_ruleset(tenant)
    test_case = RulesetTestCase(
        ruleset=draft, name="hostile", input_data=data, expected_pattern_result="YY"
    )
    with pytest.raises(ValidationError) as refused:
        test_cases.test_case_save(test_case=test_case, actor=None)
    (error,) = refused.value.message_dict["input_data"]
    assert message in error
    assert not RulesetTestCase.objects.exists()


def test_the_test_case_api_refuses_integers_beyond_2_53_on_input_data(tenant):
    draft = credit_ruleset(tenant)
    _, token = api_client_create(tenant=tenant, name="author", role=Role.AUTHOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    # json.dumps writes the integer exactly; the API's parser (orjson) reads it exactly too.
    body = json.dumps(
        {
            "ruleset": draft.pk,
            "name": "big",
            "expected_pattern_result": "YY",
            "input_data": {"credit_score": 720, "id": 2**53 + 1},
        }
    )
    response = client.post("/api/v1/test-cases", body, content_type="application/json")
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]["input_data"]
    assert detail.startswith(f"input_data.id: the integer 9007199254740993 {BEYOND}")
    assert not RulesetTestCase.objects.exists()


HOSTILE_TEXTS = {
    "nan": ('{"credit_score": NaN}', "NaN is not a number JSON can hold"),
    "1e400": ('{"credit_score": 1e400}', "1e400 is not a number JSON can hold"),
    "5000_digits": ('{"id": ' + "9" * 5000 + "}", "the integer of 5,000 digits"),
    "2^53_plus_1": ('{"id": 9007199254740993}', f"the integer 9007199254740993 {BEYOND}"),
    "lone_surrogate": ('{"name": "\\ud800"}', "a string contains a lone surrogate"),
    "5000_deep": ('{"a": ' * 5000 + "1" + "}" * 5000, "nested deeper than 1,000 levels"),
    "100_deep": ('{"a": ' * 100 + "1" + "}" * 100, "nested deeper than 64 levels"),
}


@pytest.fixture
def author_client(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant, role=Role.AUTHOR).user)
    return client


def change_form_with_a_test_case(ruleset, input_text: str) -> dict:
    """The ruleset's change form as posted, with one new test case row."""
    data = {"name": ruleset.name, "version": ruleset.version, "description": "", "tags": ""}
    data["metadata"] = "{}"
    for prefix, total in (("rules", 0), ("patterns", 0), ("test_cases", 1)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(total),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    row = {
        "name": "hostile",
        "input_data": input_text,
        "expected_pattern_result": "YY",
        "total_points_tolerance": "0.000001",
        "ruleset": str(ruleset.pk),
    }
    data.update({f"test_cases-0-{key}": value for key, value in row.items()})
    return data


@pytest.mark.parametrize("case", list(HOSTILE_TEXTS), ids=list(HOSTILE_TEXTS))
def test_the_admin_test_case_form_shows_a_hostile_input_as_a_form_error(
    author_client, tenant, case
):
    text, message = HOSTILE_TEXTS[case]
    draft = credit_ruleset(tenant)
    response = author_client.post(
        reverse("admin:rules_ruleset_change", args=[draft.pk]),
        change_form_with_a_test_case(draft, text),
    )
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][2].formset.forms[0]
    assert message in " ".join(form.errors["input_data"])
    assert not RulesetTestCase.objects.exists()


@pytest.mark.parametrize("case", list(HOSTILE_TEXTS), ids=list(HOSTILE_TEXTS))
def test_try_it_shows_a_hostile_input_as_a_form_error(author_client, tenant, case):
    text, message = HOSTILE_TEXTS[case]
    draft = credit_ruleset(tenant)
    response = author_client.post(
        reverse("admin:executions_executionlog_try_it", args=[draft.pk]), {"input": text}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["input"])
    assert not ExecutionLog.objects.exists()
