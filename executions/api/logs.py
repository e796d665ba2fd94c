"""GET /api/v1/execution-logs, /api/v1/execution-logs/{execution_id} and /api/v1/stats.

Everything is scoped to the caller's tenants (ruleengine.api.access): another tenant's log
answers 404 and never enters statistics. The log list pages with a cursor on the timestamp,
newest first: no page numbers and no COUNT(*), which would scan the whole hypertable.
"""

from datetime import timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.histogram import RELATIVE_ERROR
from executions.models import ExecutionLog, ExecutionSource
from executions.stats import (
    MAX_BUCKETS,
    StatsRequestInvalid,
    bucket_parse,
    execution_stats_with_summary,
    stats_window,
)
from ruleengine.api.access import TenantCapability, request_narrowing_tenant
from ruleengine.api.errors import ApiError, ErrorResponseSerializer
from rules.choices import Capability
from rules.models import Tenant

DEFAULT_STATS_WINDOW = timedelta(hours=24)
# The logs list and the statistics refuse an empty or reversed window with this one message.
WINDOW_EMPTY_MESSAGE = "since must be before until."

TENANT_HEADER_PARAMETER = OpenApiParameter(
    "X-Tenant",
    str,
    OpenApiParameter.HEADER,
    description="Slug of a tenant: only its logs. Default: every tenant of the caller.",
)


# --- Representations -------------------------------------------------------------------------
class ExecutionLogSummarySerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ExecutionLog
        fields = [
            "execution_id",
            "timestamp",
            "tenant",
            "ruleset_id",
            "ruleset_name",
            "ruleset_version",
            "total_points",
            "pattern_result",
            "action_recommendation",
            "execution_time_ms",
            "success",
            "error_message",
            "source",
            "caller",
            "request_id",
            "correlation_id",
        ]
        read_only_fields = fields


class ExecutionLogSerializer(ExecutionLogSummarySerializer):
    class Meta(ExecutionLogSummarySerializer.Meta):
        fields = [*ExecutionLogSummarySerializer.Meta.fields, "input_data", "output_data"]
        read_only_fields = fields


class StatsQuerySerializer(serializers.Serializer):
    ruleset = serializers.CharField(required=False, max_length=100, help_text="Ruleset name.")
    version = serializers.CharField(required=False, max_length=20, help_text="Ruleset version.")
    bucket = serializers.CharField(
        default="1h",
        help_text="Bucket width: a whole number of minutes, hours or days (5m, 1h, 1d).",
    )
    since = serializers.DateTimeField(
        required=False, help_text="Start (ISO 8601); default: 24 hours before `until`."
    )
    until = serializers.DateTimeField(required=False, help_text="End (ISO 8601); default: now.")

    def validate_bucket(self, value):
        try:
            return bucket_parse(value)
        except StatsRequestInvalid as error:
            raise serializers.ValidationError(str(error)) from error

    def validate(self, attrs):
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since") or until - DEFAULT_STATS_WINDOW
        if since >= until:
            raise serializers.ValidationError({"since": WINDOW_EMPTY_MESSAGE})
        return {**attrs, "since": since, "until": until}


# Percentiles are read from a fixed log-scale histogram (executions.histogram).
PERCENTILE_BOUND = f"{RELATIVE_ERROR:.2%} of the exact value (from a log-scale histogram)"


class StatsTotalsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Evaluations (admin try-it runs excluded).")
    success_count = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True, help_text="0..1; null without runs.")
    avg_execution_ms = serializers.FloatField(allow_null=True)
    p50_execution_ms = serializers.FloatField(
        allow_null=True, help_text=f"Median execution time, within {PERCENTILE_BOUND}."
    )
    p95_execution_ms = serializers.FloatField(
        allow_null=True,
        help_text=f"95th percentile of the execution time, within {PERCENTILE_BOUND}.",
    )
    p99_execution_ms = serializers.FloatField(
        allow_null=True,
        help_text=f"99th percentile of the execution time, within {PERCENTILE_BOUND}.",
    )
    avg_points = serializers.FloatField(allow_null=True)
    recommendations = serializers.DictField(
        child=serializers.IntegerField(), help_text="Evaluations per action recommendation."
    )


class StatsBucketSerializer(StatsTotalsSerializer):
    bucket_start = serializers.DateTimeField()


class StatsSerializer(serializers.Serializer):
    ruleset = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    bucket = serializers.CharField(help_text="The bucket width as requested.")
    bucket_seconds = serializers.IntegerField()
    since = serializers.DateTimeField(help_text="Start of the first bucket.")
    until = serializers.DateTimeField(help_text="End of the last bucket (exclusive).")
    summary = StatsTotalsSerializer(help_text="The whole window.")
    buckets = StatsBucketSerializer(many=True, help_text="Every bucket, oldest first.")


ERRORS = {
    400: OpenApiResponse(ErrorResponseSerializer, description="Invalid filter or window."),
    404: OpenApiResponse(ErrorResponseSerializer, description="No such log in your tenants."),
}
LIST_ERRORS = {
    400: OpenApiResponse(
        ErrorResponseSerializer,
        description="`invalid`: a filter's value is refused (`details` names each parameter and "
        "what it accepts), or `since` is not before `until`. `invalid_cursor`: the `cursor` is "
        "not one this API made; follow `next` and `previous` as given.",
    ),
}


def query_invalid(errors: dict) -> ApiError:
    """Refused query parameters, in the one shape for the log list and statistics: the message
    names them, `details` gives each one's messages."""
    return ApiError(
        status_code=status.HTTP_400_BAD_REQUEST,
        code="invalid",
        message=f"Invalid query parameter(s): {', '.join(errors)}; see details.",
        details=errors,
    )


# --- Log list and detail ---------------------------------------------------------------------
class TrueFalseField(forms.Field):
    """`true` or `false` (and, as before, `1`, `0` and any letter case), nothing else.

    django-filter's REST BooleanFilter reads any other value as "no filter", so `success=maybe`
    listed every log as if it had filtered them.
    """

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return self.VALUES[value.lower()]
        except KeyError:
            raise forms.ValidationError(
                "%(value)r is not accepted; use true or false.", params={"value": value}
            ) from None


class TrueFalseFilter(django_filters.BooleanFilter):
    # django-filter's plain BooleanFilter (a boolean in the schema), without the REST
    # framework's BooleanWidget, which reads an unknown value as "no filter" before the field.
    field_class = TrueFalseField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, widget=forms.TextInput, **kwargs)


class ExecutionLogFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since is not None and until is not None and since >= until:
            self.add_error("since", WINDOW_EMPTY_MESSAGE)
        return cleaned


class ExecutionLogFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(
        field_name="timestamp",
        lookup_expr="gte",
        help_text="From this time (ISO 8601); before `until` when both are given.",
    )
    until = filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lt", help_text="Before this time (ISO 8601)."
    )
    ruleset = filters.CharFilter(field_name="ruleset_name", help_text="Ruleset name.")
    version = filters.CharFilter(field_name="ruleset_version", help_text="Ruleset version.")
    success = TrueFalseFilter(help_text="true or false; anything else is a 400.")
    action_recommendation = filters.CharFilter()
    source = filters.ChoiceFilter(choices=ExecutionSource.choices)
    correlation_id = filters.CharFilter(help_text="The correlation id the caller sent.")
    request_id = filters.CharFilter(help_text="The X-Request-ID of the evaluate call.")

    class Meta:
        model = ExecutionLog
        form = ExecutionLogFilterForm
        fields = [
            "since",
            "until",
            "ruleset",
            "version",
            "success",
            "action_recommendation",
            "source",
            "correlation_id",
            "request_id",
        ]


class ExecutionLogPagination(CursorPagination):
    # The cursor holds the last timestamp seen plus how many rows with that timestamp were seen;
    # execution_id breaks ties so rows sharing a timestamp keep one order across pages.
    ordering = ("-timestamp", "-execution_id")
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_cursor_message = (
        "The cursor is not valid: use the `next` or `previous` link of a page as it was given."
    )

    def decode_cursor(self, request):
        # DRF answers an undecodable cursor with 404, as if the list did not exist, and lets a
        # decodable one with a position that is no timestamp reach the query (a 500).
        try:
            cursor = super().decode_cursor(request)
            position = cursor.position if cursor is not None else None
            if position is not None and parse_datetime(position) is None:
                raise ValueError(position)
        except (NotFound, ValueError) as error:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid_cursor",
                message=self.invalid_cursor_message,
                details={self.cursor_query_param: [self.invalid_cursor_message]},
            ) from error
        return cursor


def visible_logs(request):
    """The caller's logs, narrowed by X-Tenant; a list of tenant ids, so the (tenant, timestamp)
    index serves the newest-first list."""
    return ExecutionLog.objects.visible_to(
        request.user, Capability.VIEW, tenant=request_narrowing_tenant(request)
    ).select_related("tenant")


def visible_tenant_ids(request) -> list[int]:
    """The tenants whose logs statistics count: the same scope as the log list."""
    tenants = Tenant.objects.visible_to(
        request.user, Capability.VIEW, tenant=request_narrowing_tenant(request)
    )
    return list(tenants.values_list("pk", flat=True))


class ExecutionLogListView(generics.ListAPIView):
    permission_classes = [TenantCapability]
    serializer_class = ExecutionLogSummarySerializer
    pagination_class = ExecutionLogPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = ExecutionLogFilter

    def get_queryset(self):
        # Inputs and outputs can be large; the detail route has them.
        return visible_logs(self.request).defer("input_data", "output_data")

    def filter_queryset(self, queryset):
        try:
            return super().filter_queryset(queryset)
        except serializers.ValidationError as error:
            raise query_invalid(error.detail) from error

    @extend_schema(
        summary="List execution logs, newest first",
        description="Cursor pagination: follow `next` and `previous`; there are no page counts.",
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: ExecutionLogSummarySerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ExecutionLogDetailView(generics.RetrieveAPIView):
    permission_classes = [TenantCapability]
    serializer_class = ExecutionLogSerializer
    lookup_field = "execution_id"

    def get_queryset(self):
        return visible_logs(self.request)

    @extend_schema(
        summary="One execution log with its input and output",
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: ExecutionLogSerializer, 404: ERRORS[404]},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- Statistics ------------------------------------------------------------------------------
class StatsView(APIView):
    permission_classes = [TenantCapability]

    @extend_schema(
        summary="Execution statistics per time bucket",
        description=(
            "Counts, success rate, average and p95 execution time, average points and "
            "recommendations per bucket, and for the whole window. Admin try-it runs are "
            "excluded. The window is widened to whole buckets (aligned to UTC: hours on the "
            f"hour, days at midnight) and holds at most {MAX_BUCKETS} buckets."
        ),
        parameters=[StatsQuerySerializer, TENANT_HEADER_PARAMETER],
        responses={200: StatsSerializer, 400: ERRORS[400]},
    )
    def get(self, request):
        query = StatsQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise query_invalid(query.errors)
        params = query.validated_data
        bucket = params["bucket"]
        try:
            since, until = stats_window(bucket=bucket, since=params["since"], until=params["until"])
        except StatsRequestInvalid as error:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="too_many_buckets",
                message=str(error),
                details={"max_buckets": MAX_BUCKETS},
            ) from error
        scope = {
            "tenant_ids": visible_tenant_ids(request),
            "ruleset_name": params.get("ruleset"),
            "ruleset_version": params.get("version"),
        }
        summary, buckets = execution_stats_with_summary(
            **scope, bucket=bucket, since=since, until=until
        )
        body = {
            "ruleset": scope["ruleset_name"],
            "version": scope["ruleset_version"],
            "bucket": request.query_params.get("bucket") or "1h",
            "bucket_seconds": int(bucket.total_seconds()),
            "since": since,
            "until": until,
            "summary": summary,
            "buckets": buckets,
        }
        return Response(StatsSerializer(body).data)
