"""The backtest pages of the admin: the form, the report, tenancy and roles."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from executions.admin.charts import histogram_chart
from executions.models import ExecutionLog
from rules.choices import Role, RulesetStatus
from tests.executions.test_backtest import write_logs
from tests.factories import MembershipFactory, RuleFactory, credit_ruleset

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(second=0, microsecond=0)
MINUTE = "%Y-%m-%dT%H:%M"
# Logged under the baseline (credit_score > 700) and replayed with the candidate (> 600):
#   input                  baseline          candidate
#   750 / 60000            YY 20 APPROVE     YY 20 APPROVE
#   650 / 60000            -Y 10 REVIEW      YY 20 APPROVE   changed
#   650 / 0                -- 0  DECLINE     Y- 10 REVIEW    changed
#   550 / 0                -- 0  DECLINE     -- 0  DECLINE
#   800 / 0                Y- 10 REVIEW      Y- 10 REVIEW
KNOWN_INPUTS = [(750, 60000), (650, 60000), (650, 0), (550, 0), (800, 0)]


@pytest.fixture
def versions(tenant):
    baseline = credit_ruleset(tenant, version="1.0", threshold=700, status=RulesetStatus.ACTIVE)
    candidate = credit_ruleset(tenant, version="1.1", threshold=600, status=RulesetStatus.DRAFT)
    return baseline, candidate


@pytest.fixture
def logs(versions):
    baseline, _ = versions
    rows = write_logs(baseline, KNOWN_INPUTS, at=NOW - timedelta(minutes=10))
    # Never replayed: try-it runs of the baseline, and the candidate's own logs.
    write_logs(baseline, [(650, 0)] * 3, at=NOW - timedelta(minutes=5), source="admin")
    write_logs(versions[1], [(650, 0)] * 2, at=NOW - timedelta(minutes=5))
    return rows


def as_role(client, tenant, role, username="vera"):
    user = MembershipFactory(tenant=tenant, role=role, user__username=username).user
    client.force_login(user)
    return client


def backtest_url(ruleset, **query) -> str:
    url = reverse("admin:executions_executionlog_backtest", args=[ruleset.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def run_query(baseline, *, since=None, until=None, max_inputs=100) -> dict:
    return {
        "baseline": baseline.pk,
        "since": (since or NOW - timedelta(hours=1)).strftime(MINUTE),
        "until": (until or NOW + timedelta(minutes=1)).strftime(MINUTE),
        "max_inputs": max_inputs,
    }


def test_the_form_defaults_to_the_active_version_and_the_last_days(
    client, tenant, versions, settings
):
    settings.BACKTEST_DEFAULT_DAYS = 7
    settings.BACKTEST_MAX_INPUTS = 5000
    baseline, candidate = versions
    page = as_role(client, tenant, Role.AUTHOR).get(backtest_url(candidate))
    assert page.status_code == 200
    assert page.context["report"] is None
    form = page.context["form"]
    initial = form.initial
    assert initial["baseline"] == baseline.pk
    assert initial["until"] - initial["since"] == timedelta(days=7)
    assert timedelta(0) < initial["until"] - timezone.now() <= timedelta(minutes=1)
    assert initial["max_inputs"] == 5000
    assert list(form.fields["baseline"].queryset) == [candidate, baseline]
    html = page.content.decode()
    assert f'<option value="{baseline.pk}" selected>1.0 (active)</option>' in html
    assert "Run backtest" in html


def test_the_report_shows_exact_counts_matrix_points_rules_and_linked_examples(
    client, tenant, versions, logs
):
    baseline, candidate = versions
    logged_before = ExecutionLog.objects.count()
    client = as_role(client, tenant, Role.VIEWER)  # reading only: viewers may backtest
    page = client.get(backtest_url(candidate, **run_query(baseline)))
    assert page.status_code == 200
    report, view = page.context["report"], page.context["view"]
    assert report["inputs_replayed"] == 5
    assert report["decisions_changed"] == {"count": 2, "percent": 40.0}

    # Recommendations by logged volume (DECLINE 2, REVIEW 2, APPROVE 1; ties by name).
    assert view["labels"] == ["DECLINE", "REVIEW", "APPROVE"]
    assert [
        (row["label"], [(c["count"], c["changed"]) for c in row["cells"]], row["total"])
        for row in view["matrix"]
    ] == [
        ("DECLINE", [(1, False), (1, True), (0, False)], 2),
        ("REVIEW", [(0, False), (1, False), (1, True)], 2),
        ("APPROVE", [(0, False), (0, False), (1, False)], 1),
    ]
    assert view["column_totals"] == [1, 2, 2]
    assert [(r["label"], r["before"], r["after"], r["shift"]) for r in view["point_rows"]] == [
        ("Mean", 8.0, 12.0, 4.0),
        ("Median (p50)", 10.0, 10.0, 0.0),
        ("p95", 20.0, 20.0, 0.0),
    ]
    histogram = view["histogram"]
    assert len(histogram["groups"]) == 10
    assert [label["text"] for label in histogram["labels"]] == [
        str(edge) for edge in range(0, 22, 2)
    ]
    assert [
        (rule["rule_id"], rule["name"], rule["before_percent"], rule["after_percent"])
        for rule in view["rules"]
    ] == [("R1", "Good score", 40.0, 80.0)]
    groups = {(g["from"], g["to"]): g for g in view["examples"]}
    assert set(groups) == {("REVIEW", "APPROVE"), ("DECLINE", "REVIEW")}
    example = groups[("REVIEW", "APPROVE")]["examples"][0]
    log_url = reverse("admin:executions_executionlog_change", args=[logs[1].execution_id])
    assert example["url"] == log_url
    assert (example["pattern_before"], example["pattern_after"]) == ("-Y", "YY")

    html = page.content.decode()
    assert '<span class="card-value" id="decisions-changed">2 <small>40%</small></span>' in html
    assert html.count('class="numeric cell-changed"') == 2
    assert html.count('<rect class="bar-before"') == 3  # bins 0, 10 and 20 have inputs
    assert html.count('<rect class="bar-after"') == 3
    assert f'href="{log_url}"' in html
    assert "<script" not in html.split("</head>")[1]
    assert ExecutionLog.objects.count() == logged_before  # a backtest writes nothing


def test_the_cap_replays_the_newest_inputs_and_says_so(client, tenant, versions, logs):
    baseline, candidate = versions
    client = as_role(client, tenant, Role.AUTHOR)
    page = client.get(backtest_url(candidate, **run_query(baseline, max_inputs=2)))
    assert page.context["report"]["inputs_replayed"] == 2
    assert page.context["report"]["capped"] is True
    assert "Capped at 2 inputs" in page.content.decode()


def test_an_empty_window_says_there_is_nothing_to_replay(client, tenant, versions, logs):
    baseline, candidate = versions
    client = as_role(client, tenant, Role.AUTHOR)
    query = run_query(baseline, since=NOW - timedelta(days=3), until=NOW - timedelta(days=2))
    page = client.get(backtest_url(candidate, **query))
    assert page.context["report"]["inputs_replayed"] == 0
    assert "nothing to replay" in page.content.decode()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"until": (NOW - timedelta(hours=2)).strftime(MINUTE)}, "until"),
        ({"max_inputs": 0}, "max_inputs"),
        ({"max_inputs": 10**9}, "max_inputs"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_settings_are_form_errors_and_nothing_runs(
    client, tenant, versions, logs, change, field
):
    baseline, candidate = versions
    client = as_role(client, tenant, Role.AUTHOR)
    page = client.get(backtest_url(candidate, **{**run_query(baseline), **change}))
    assert page.status_code == 200
    assert field in page.context["form"].errors
    assert page.context["report"] is None


def test_a_candidate_that_does_not_compile_lists_its_problems(client, tenant, versions, logs):
    baseline, candidate = versions
    RuleFactory(ruleset=candidate, rule_id="R3", operator="between", constant="5", priority=3)
    page = as_role(client, tenant, Role.AUTHOR).get(backtest_url(candidate, **run_query(baseline)))
    assert page.context["report"] is None
    assert any("R3" in problem for problem in page.context["problems"])
    assert "does not compile" in page.content.decode()


def test_another_tenants_version_answers_404_and_its_baseline_is_not_a_choice(
    client, tenant, other_tenant, versions, logs
):
    baseline, candidate = versions
    theirs = credit_ruleset(other_tenant, version="1.0", threshold=500, status="active")
    client = as_role(client, other_tenant, Role.ADMIN, username="gus")
    assert client.get(backtest_url(candidate)).status_code == 404
    assert client.get(backtest_url(candidate, **run_query(baseline))).status_code == 404
    # Their own candidate against our baseline: not one of the choices.
    page = client.get(backtest_url(theirs, **run_query(baseline)))
    assert page.status_code == 200
    assert "baseline" in page.context["form"].errors
    assert page.context["report"] is None
    assert b"acme" not in page.content


def test_a_user_without_a_role_is_sent_to_the_login_page(client, versions, django_user_model):
    _, candidate = versions
    nobody = django_user_model.objects.create_user("nobody", password="pw-nobody-2026")
    client.force_login(nobody)
    response = client.get(backtest_url(candidate))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_histogram_bars_share_one_axis_and_edges_label_the_bins():
    chart = histogram_chart(
        [
            {"from": 0.0, "to": 5.0, "before": 3, "after": 1},
            {"from": 5.0, "to": 10.0, "before": 0, "after": 6},
        ]
    )
    assert [tick["label"] for tick in chart["ticks"]] == ["0", "2", "4", "6", "8"]
    (before_0, after_0), (before_1, after_1) = chart["groups"]
    plot_height = chart["plot_bottom"] - 14
    assert before_0["height"] == pytest.approx(plot_height * 3 / 8)
    assert after_1["height"] == pytest.approx(plot_height * 6 / 8)
    assert before_1["height"] == 0
    assert after_0["title"] == "0 to 5 points, after: 1 inputs"
    assert [label["text"] for label in chart["labels"]] == ["0", "5", "10"]
