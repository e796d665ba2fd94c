"""POST /api/v1/rulesets/{id}/backtest: replay logged traffic through a version, synchronously.

The candidate is the ruleset {id} (usually a draft), the baseline by default the active version of
the same name. Both are scoped to the caller's tenants (ruleengine.api.access): another tenant's
version answers 404. A backtest only reads, so it needs `view`. Here, not in rules/api: rules
never imports executions.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.backtest import BacktestRefused, backtest_run
from ruleengine.api.access import TenantCapability, request_narrowing_tenant
from ruleengine.api.errors import ApiError, ErrorResponseSerializer, service_error_response
from ruleengine.throttling import BacktestThrottle
from ruleengine.worker_slots import worker_slot
from rules.choices import Capability, RulesetStatus
from rules.models import Ruleset
from rules.selectors.backtest_baseline import backtest_baseline

TENANT_HEADER_PARAMETER = OpenApiParameter(
    "X-Tenant",
    str,
    OpenApiParameter.HEADER,
    description="Slug of a tenant: look the version up only there.",
)


# --- Request ---------------------------------------------------------------------------------
class BacktestRequestSerializer(serializers.Serializer):
    baseline_version = serializers.CharField(
        required=False,
        max_length=20,
        help_text="The version whose logged inputs are replayed; default: the active version of "
        "the candidate's name.",
    )
    since = serializers.DateTimeField(
        required=False,
        help_text="Start (ISO 8601, inclusive); default: BACKTEST_DEFAULT_DAYS (7) days before "
        "`until`.",
    )
    until = serializers.DateTimeField(
        required=False, help_text="End (ISO 8601, exclusive); default: now."
    )
    max_inputs = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Replay at most this many inputs, newest first; default and upper bound: "
        "BACKTEST_MAX_INPUTS (100,000).",
    )

    def validate_max_inputs(self, value):
        # Read per request, not at import, so the bound follows the settings.
        if value > settings.BACKTEST_MAX_INPUTS:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {settings.BACKTEST_MAX_INPUTS}."
            )
        return value


# --- The report, described for the schema; backtest_run builds it ----------------------------
# `from` is a Python keyword: serializers declare `from_` and this names it `from`, in place.
class FromFieldMixin:
    def get_fields(self):
        return {
            "from" if name == "from_" else name: field
            for name, field in super().get_fields().items()
        }


class BacktestVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=RulesetStatus.choices)


class BacktestWindowSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    replayed_from = serializers.DateTimeField(
        allow_null=True, help_text="The oldest input replayed; null when none was."
    )
    replayed_until = serializers.DateTimeField(
        allow_null=True, help_text="The newest input replayed; null when none was."
    )


class BacktestShareSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    percent = serializers.FloatField(help_text="Of the inputs replayed, 0-100.")


class BacktestTransitionSerializer(FromFieldMixin, serializers.Serializer):
    """How many inputs went from one recommendation (logged) to another (candidate)."""

    from_ = serializers.CharField(
        allow_null=True, help_text="The logged recommendation; null when no pattern matched."
    )
    to = serializers.CharField(
        allow_null=True, help_text="The candidate's recommendation; null when no pattern matched."
    )
    count = serializers.IntegerField()
    percent = serializers.FloatField()
    changed = serializers.BooleanField()


class BacktestPointsSummarySerializer(serializers.Serializer):
    mean = serializers.FloatField(allow_null=True)
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)


class BacktestHistogramBinSerializer(FromFieldMixin, serializers.Serializer):
    """Inputs whose total points fall in [from, to), before and after."""

    from_ = serializers.FloatField()
    to = serializers.FloatField()
    before = serializers.IntegerField()
    after = serializers.IntegerField()


class BacktestPointsSerializer(serializers.Serializer):
    before = BacktestPointsSummarySerializer(help_text="The logged totals.")
    after = BacktestPointsSummarySerializer(help_text="The candidate's totals.")
    mean_shift = serializers.FloatField(allow_null=True)
    percentile_method = serializers.CharField()
    histogram = BacktestHistogramBinSerializer(many=True)


class BacktestRuleRateSerializer(serializers.Serializer):
    rule_id = serializers.CharField()
    before = serializers.FloatField(help_text="Share of inputs the rule matched, 0-1 (logged).")
    after = serializers.FloatField(help_text="Share with the candidate, 0-1.")
    change = serializers.FloatField()


class BacktestExampleSerializer(serializers.Serializer):
    execution_id = serializers.UUIDField(help_text="The execution log row replayed.")
    timestamp = serializers.DateTimeField()
    pattern_before = serializers.CharField(allow_null=True)
    pattern_after = serializers.CharField()
    points_before = serializers.FloatField()
    points_after = serializers.FloatField()


class BacktestExamplesSerializer(FromFieldMixin, serializers.Serializer):
    """Inputs whose recommendation changed from one value to another."""

    from_ = serializers.CharField(allow_null=True)
    to = serializers.CharField(allow_null=True)
    count = serializers.IntegerField(help_text="Inputs with this transition.")
    examples = BacktestExampleSerializer(many=True, help_text="The newest, at most 50.")


class BacktestReportSerializer(serializers.Serializer):
    """What would change if the candidate replaced the baseline (docs/safe-changes.md)."""

    candidate = BacktestVersionSerializer()
    baseline = BacktestVersionSerializer()
    window = BacktestWindowSerializer()
    max_inputs = serializers.IntegerField()
    capped = serializers.BooleanField(help_text="The window held more inputs than max_inputs.")
    read_strategy = serializers.CharField()
    inputs_over_budget = serializers.IntegerField(
        help_text="Inputs the candidate could not evaluate within EVALUATION_BUDGET_MS: skipped."
    )
    inputs_replayed = serializers.IntegerField()
    decisions_changed = BacktestShareSerializer(help_text="The recommendation changed.")
    patterns_changed = BacktestShareSerializer(help_text="The pattern changed.")
    transitions = BacktestTransitionSerializer(
        many=True, help_text="Logged -> candidate recommendation, most frequent first."
    )
    total_points = BacktestPointsSerializer()
    rule_match_rates = BacktestRuleRateSerializer(
        many=True, help_text="The 10 rules whose match rate changed most."
    )
    examples = BacktestExamplesSerializer(many=True, help_text="Per changed transition.")
    seconds = serializers.FloatField()


# --- The view --------------------------------------------------------------------------------
def _baseline(candidate: Ruleset, version: str | None) -> Ruleset:
    if version is not None:
        baseline = (
            Ruleset.objects.for_tenant(candidate.tenant)
            .filter(name=candidate.name, version=version)
            .first()
        )
        if baseline is None:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid",
                message=f"{candidate.name} has no version {version}.",
                details={"baseline_version": [f"{candidate.name} has no version {version}."]},
            )
        return baseline
    baseline = backtest_baseline(candidate=candidate)
    if baseline is None:
        raise ApiError(
            status_code=status.HTTP_409_CONFLICT,
            code="no_active_version",
            message=f"{candidate.name} has no active version; name one with baseline_version.",
        )
    return baseline


class BacktestView(APIView):
    permission_classes = [TenantCapability]
    # A backtest holds a worker for seconds: BACKTEST_RATE_LIMIT per client, and a worker slot.
    throttle_classes = [BacktestThrottle]

    @extend_schema(
        summary="Backtest a version against logged traffic",
        tags=["backtest"],
        description=(
            "Replays the inputs logged for the baseline version (successful evaluations, not "
            "the admin's try-it runs) through the candidate version {id} and reports what would "
            "change: recommendation transitions, points, rule match rates and examples. Writes "
            "nothing. Runs in the request: up to `max_inputs` rows are read (100,000 take a few "
            "seconds). 400 `backtest_refused` when the window is empty (since not before "
            "until); 409 `invalid_ruleset` when the candidate does not compile."
        ),
        request=BacktestRequestSerializer,
        parameters=[TENANT_HEADER_PARAMETER],
        responses={
            200: BacktestReportSerializer,
            400: OpenApiResponse(
                ErrorResponseSerializer,
                description="Invalid input, an unknown baseline_version, or a refused window "
                "(`backtest_refused`).",
            ),
            404: OpenApiResponse(
                ErrorResponseSerializer, description="No such version in your tenants."
            ),
            409: OpenApiResponse(
                ErrorResponseSerializer,
                description="No active version to compare with (`no_active_version`), or the "
                "candidate does not compile (`invalid_ruleset`, problems in `details`).",
            ),
        },
    )
    def post(self, request, pk):
        candidate = get_object_or_404(
            Ruleset.objects.visible_to(
                request.user, Capability.VIEW, tenant=request_narrowing_tenant(request)
            ).select_related("tenant"),
            pk=pk,
        )
        options = BacktestRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        params = options.validated_data
        baseline = _baseline(candidate, params.get("baseline_version"))
        try:
            with worker_slot():
                report = backtest_run(
                    candidate=candidate,
                    baseline=baseline,
                    since=params.get("since"),
                    until=params.get("until"),
                    max_inputs=params.get("max_inputs"),
                )
        except BacktestRefused as error:
            # Refused arguments (an empty window) are bad input, not a conflict with state.
            response = service_error_response(error)
            response.status_code = status.HTTP_400_BAD_REQUEST
            return response
        return Response(report)
