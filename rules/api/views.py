"""The management API: rulesets, rules, patterns, test cases, the catalogs, lifecycle, import
and export.

Thin: serializers validate HTTP input and rules/services do every write and check every business
rule. Querysets are scoped to the caller's tenants, so another tenant's objects answer 404.
"""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ruleengine.api.access import (
    TenantCapability,
    capability_check,
    request_tenant,
    request_visible_tenant_ids,
)
from ruleengine.api.errors import ErrorResponseSerializer, service_error_response
from ruleengine.api.rendering import OrjsonParser
from rules.api import filters as api_filters
from rules.api.serializers import (
    ActionSerializer,
    ConditionSerializer,
    ImportOptionsSerializer,
    ImportReportSerializer,
    NewVersionSerializer,
    PatternSerializer,
    RuleSerializer,
    RulesetActivationSerializer,
    RulesetDocumentSerializer,
    RulesetSerializer,
    RulesetTestCaseSerializer,
    TestRunReportSerializer,
)
from rules.choices import Capability
from rules.errors import RulesetInvalid
from rules.models import Action, Condition, Pattern, Rule, Ruleset, RulesetTestCase
from rules.services import editing, lifecycle, ruleset_export, ruleset_import, test_cases


@contextmanager
def validation_errors_as_400():
    """A service's model validation (full_clean) as DRF's 400, field errors in `details`."""
    try:
        yield
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            detail = {
                api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
                for field, messages in error.message_dict.items()
            }
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        raise serializers.ValidationError(detail) from error


class ManagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


TENANT_HEADER_PARAMETER = OpenApiParameter(
    "X-Tenant",
    str,
    OpenApiParameter.HEADER,
    description="Slug of the tenant to act in; required for writes by callers in several "
    "tenants, narrows reads to that tenant.",
)
ERROR_MEANINGS = {
    400: "Invalid input: field errors, or the tenant must be named (X-Tenant), in `details`.",
    403: "The caller's role in the tenant does not allow this.",
    404: "No such object in the caller's tenants.",
    409: "Refused by a business rule: a published version is read-only, a catalog entry is in "
    "use, a transition is not allowed, or the ruleset has problems (listed in `details`).",
}


def error_responses(*codes: int) -> dict:
    return {
        code: OpenApiResponse(ErrorResponseSerializer, description=ERROR_MEANINGS[code])
        for code in codes
    }


def resource_schema(serializer, noun: str):
    """The schema of a resource's list/create/retrieve/update/delete routes with their errors."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}s",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer(many=True), **error_responses(400, 404)},
        ),
        create=extend_schema(
            summary=f"Create a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={201: serializer, **error_responses(400, 403, 404, 409)},
        ),
        retrieve=extend_schema(
            summary=f"Read a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer, **error_responses(404)},
        ),
        update=extend_schema(
            summary=f"Replace a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer, **error_responses(400, 403, 404, 409)},
        ),
        partial_update=extend_schema(
            summary=f"Change fields of a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer, **error_responses(400, 403, 404, 409)},
        ),
        destroy=extend_schema(
            summary=f"Delete a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={204: None, **error_responses(403, 404, 409)},
        ),
    )


def transition_schema(summary: str, description: str = ""):
    return extend_schema(
        summary=summary,
        description=description,
        request=None,
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: RulesetSerializer, **error_responses(403, 404, 409)},
    )


class TenantScopedViewSet(viewsets.ModelViewSet):
    """CRUD over one model, scoped to the caller's tenants; subclasses call the services."""

    permission_classes = [TenantCapability]
    pagination_class = ManagePagination

    def get_queryset(self):
        queryset = self.queryset.all()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return queryset.none()
        tenant_ids = request_visible_tenant_ids(self.request)
        return queryset.filter(**{f"{queryset.tenant_lookup}__in": tenant_ids})

    def object_tenant(self, obj):
        return obj.tenant

    def create(self, request, *args, **kwargs):
        # Before validation: a viewer learns that it may not write, not what the payload lacks.
        capability_check(request, request_tenant(request), Capability.EDIT)
        return super().create(request, *args, **kwargs)


@resource_schema(RulesetSerializer, "ruleset")
class RulesetViewSet(TenantScopedViewSet):
    """Ruleset versions. Only drafts can be changed; lifecycle actions publish them."""

    queryset = Ruleset.objects.select_related("tenant", "created_by", "updated_by")
    serializer_class = RulesetSerializer
    filterset_class = api_filters.RulesetFilter
    search_fields = ["name", "description"]
    ordering_fields = ["id", "name", "version", "status", "created_at", "updated_at"]
    ordering = ["name", "version", "id"]

    LIFECYCLE_ACTIONS = {
        "activate": lifecycle.ruleset_activate,
        "deactivate": lifecycle.ruleset_deactivate,
        "deprecate": lifecycle.ruleset_deprecate,
        "archive": lifecycle.ruleset_archive,
        "set_default": lifecycle.ruleset_set_default,
    }

    # POST actions that only read: running the test cases writes nothing.
    READ_ACTIONS = {"run_tests"}

    @property
    def write_capability(self):
        """TenantCapability's object check: `transition`, `view` for read actions, else `edit`."""
        if self.action in self.LIFECYCLE_ACTIONS:
            return Capability.TRANSITION
        return Capability.VIEW if self.action in self.READ_ACTIONS else Capability.EDIT

    def perform_create(self, serializer):
        with validation_errors_as_400():
            serializer.instance = editing.ruleset_create(
                tenant=request_tenant(self.request),
                actor=self.request.user,
                **serializer.validated_data,
            )

    def perform_update(self, serializer):
        with validation_errors_as_400():
            serializer.instance = editing.ruleset_update(
                ruleset=serializer.instance, actor=self.request.user, **serializer.validated_data
            )

    def perform_destroy(self, instance):
        editing.ruleset_delete(ruleset=instance, actor=self.request.user)

    def _transition(self, request):
        ruleset = self.get_object()
        self.LIFECYCLE_ACTIONS[self.action](ruleset_id=ruleset.pk, actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=ruleset.pk)).data)

    @extend_schema(
        summary="Activate a version",
        description="Validates the whole version and runs its test cases, and refuses (409) "
        "listing every problem with its rule id and every failing test case with its "
        "differences; the previously active version of the same name is deprecated. "
        "`warnings` says what did not block the activation, e.g. that the version has no test "
        "cases.",
        request=None,
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: RulesetActivationSerializer, **error_responses(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        ruleset = self.get_object()
        # Asked before activating, as the admin asks before it confirms: the answer describes
        # the version as it was when approved.
        warnings = lifecycle.ruleset_activation_warnings(ruleset=ruleset)
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=request.user)
        activated = self.get_queryset().get(pk=ruleset.pk)
        activated.warnings = warnings
        return Response(
            RulesetActivationSerializer(activated, context=self.get_serializer_context()).data
        )

    @transition_schema("Deactivate an active version")
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._transition(request)

    @transition_schema("Deprecate an active or inactive version")
    @action(detail=True, methods=["post"])
    def deprecate(self, request, pk=None):
        return self._transition(request)

    @transition_schema("Archive a version (final)")
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._transition(request)

    @transition_schema("Make this version the tenant's default ruleset")
    @action(detail=True, methods=["post"], url_path="set-default")
    def set_default(self, request, pk=None):
        return self._transition(request)

    @extend_schema(
        summary="Create a new draft version",
        description="Clones rules, catalog links and patterns into a new draft.",
        request=NewVersionSerializer,
        parameters=[TENANT_HEADER_PARAMETER],
        responses={201: RulesetSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request, pk=None):
        ruleset = self.get_object()
        options = NewVersionSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        with validation_errors_as_400():
            draft = lifecycle.ruleset_new_version(
                ruleset_id=ruleset.pk, actor=request.user, **options.validated_data
            )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=draft.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Export a version",
        description="The version in the project's JSON format (docs/format.md), the document "
        "`manage.py export_rules` writes.",
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: RulesetDocumentSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        return Response(ruleset_export.ruleset_export(ruleset=self.get_object()))

    @extend_schema(
        summary="Run a version's test cases",
        description="Evaluates every test case of the version with the engine and reports, per "
        "case, whether it passed and the differences. Writes nothing; answers 200 whether the "
        "cases pass or fail (`passed`, `failed`). A version without test cases passes with "
        "`total` 0.",
        request=None,
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: TestRunReportSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def run_tests(self, request, pk=None):
        report = test_cases.ruleset_tests_run(ruleset=self.get_object())
        return Response(report.as_dict())

    @extend_schema(
        summary="Import a document as a new draft",
        description="The body is a document in the project's JSON format, or the original "
        "system's flat rules file, or its structured rules file with the catalog's "
        "`conditions_set` added to the same object (`name` is then required). All or nothing: "
        "a document with problems writes nothing and answers 400 listing every problem with "
        "its rule id and JSON path. A document equal to the latest version creates nothing "
        "(200, `unchanged`).",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[ImportOptionsSerializer, TENANT_HEADER_PARAMETER],
        responses={
            201: OpenApiResponse(ImportReportSerializer, description="A draft was created."),
            200: OpenApiResponse(
                ImportReportSerializer, description="Dry run, or unchanged: nothing was written."
            ),
            **error_responses(400, 403, 404),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[OrjsonParser],
    )
    def import_document(self, request):
        tenant = request_tenant(request)
        capability_check(request, tenant, Capability.EDIT)
        options = ImportOptionsSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        document, conditions_document = request.data, None
        if isinstance(document, dict) and "rules_set" in document and "conditions_set" in document:
            # The structured format is two files; the API takes them as one object.
            document = {k: v for k, v in document.items() if k != "conditions_set"}
            conditions_document = {"conditions_set": request.data["conditions_set"]}
        try:
            report = ruleset_import.ruleset_import(
                tenant=tenant,
                actor=request.user,
                document=document,
                conditions_document=conditions_document,
                **options.validated_data,
            )
        except RulesetInvalid as error:
            # A document with problems is bad input (400), not a conflict with stored state.
            response = service_error_response(error)
            response.status_code = status.HTTP_400_BAD_REQUEST
            return response
        created = self.get_queryset().get(pk=report.created.pk) if report.created else None
        body = ImportReportSerializer(
            {
                "format": report.format,
                "name": report.name,
                "version": report.version,
                "dry_run": report.dry_run,
                "unchanged": report.unchanged,
                "existing": report.existing.pk if report.existing else None,
                "counts": report.counts,
                "created": created,
            },
            context=self.get_serializer_context(),
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@resource_schema(RuleSerializer, "rule")
class RuleViewSet(TenantScopedViewSet):
    """Rules of ruleset versions: inline (attribute, condition, constant) or catalog form."""

    queryset = Rule.objects.select_related("ruleset__tenant").prefetch_related("condition_links")
    serializer_class = RuleSerializer
    filterset_class = api_filters.RuleFilter
    search_fields = ["rule_id", "rule_name", "message", "attribute"]
    ordering_fields = ["id", "rule_id", "rule_name", "priority", "position", "created_at"]
    ordering = ["ruleset_id", "priority", "position", "rule_id"]

    def object_tenant(self, obj):
        return obj.ruleset.tenant

    @transaction.atomic
    def perform_create(self, serializer):
        fields = dict(serializer.validated_data)
        conditions = fields.pop("condition_links", [])
        with validation_errors_as_400():
            rule = editing.rule_create(actor=self.request.user, conditions=conditions, **fields)
        serializer.instance = self.get_queryset().get(pk=rule.pk)

    @transaction.atomic
    def perform_update(self, serializer):
        fields = dict(serializer.validated_data)
        conditions = fields.pop("condition_links", None)
        rule = serializer.instance
        for name, value in fields.items():
            setattr(rule, name, value)
        if not rule.condition_mode:
            conditions = []  # the inline form has no catalog links
        with validation_errors_as_400():
            editing.ruleset_part_save(part=rule, actor=self.request.user)
            if conditions is not None:
                editing.rule_catalog_conditions_set(
                    rule=rule, conditions=conditions, actor=self.request.user
                )
        serializer.instance = self.get_queryset().get(pk=rule.pk)

    def perform_destroy(self, instance):
        editing.ruleset_part_delete(part=instance, actor=self.request.user)


class RulesetPartViewSet(TenantScopedViewSet):
    """Parts of a draft (patterns, test cases): updates and deletes through the part services."""

    def object_tenant(self, obj):
        return obj.ruleset.tenant

    def perform_update(self, serializer):
        part = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(part, name, value)
        with validation_errors_as_400():
            editing.ruleset_part_save(part=part, actor=self.request.user)

    def perform_destroy(self, instance):
        editing.ruleset_part_delete(part=instance, actor=self.request.user)


@resource_schema(PatternSerializer, "pattern")
class PatternViewSet(RulesetPartViewSet):
    """Pattern keys of ruleset versions and the recommendation (and action) each maps to."""

    queryset = Pattern.objects.select_related("ruleset__tenant", "action")
    serializer_class = PatternSerializer
    filterset_class = api_filters.PatternFilter
    search_fields = ["pattern_key", "action_recommendation", "description"]
    ordering_fields = ["id", "pattern_key", "action_recommendation", "created_at"]
    ordering = ["ruleset_id", "pattern_key", "id"]

    def perform_create(self, serializer):
        with validation_errors_as_400():
            serializer.instance = editing.pattern_create(
                actor=self.request.user, **serializer.validated_data
            )


@resource_schema(RulesetTestCaseSerializer, "test case")
class RulesetTestCaseViewSet(RulesetPartViewSet):
    """Test cases of ruleset versions: an input and the outcome it must have.

    Only drafts' test cases change; activation refuses a version whose test cases fail.
    """

    queryset = RulesetTestCase.objects.select_related("ruleset__tenant")
    serializer_class = RulesetTestCaseSerializer
    filterset_class = api_filters.RulesetTestCaseFilter
    search_fields = ["name", "description"]
    ordering_fields = ["id", "name", "created_at", "updated_at"]
    ordering = ["ruleset_id", "name", "id"]

    def perform_create(self, serializer):
        test_case = RulesetTestCase(**serializer.validated_data)
        with validation_errors_as_400():
            serializer.instance = test_cases.test_case_save(
                test_case=test_case, actor=self.request.user
            )


class CatalogViewSet(TenantScopedViewSet):
    """A per-tenant catalog; entries used by published versions are read-only."""

    def perform_create(self, serializer):
        tenant = request_tenant(self.request)
        entry = self.queryset.model(tenant=tenant, **serializer.validated_data)
        with validation_errors_as_400():
            serializer.instance = editing.catalog_entry_save(entry=entry, actor=self.request.user)

    def perform_update(self, serializer):
        entry = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(entry, name, value)
        with validation_errors_as_400():
            editing.catalog_entry_save(entry=entry, actor=self.request.user)

    def perform_destroy(self, instance):
        editing.catalog_entry_delete(entry=instance, actor=self.request.user)


@resource_schema(ConditionSerializer, "catalog condition")
class ConditionViewSet(CatalogViewSet):
    queryset = Condition.objects.select_related("tenant")
    serializer_class = ConditionSerializer
    filterset_class = api_filters.ConditionFilter
    search_fields = ["condition_id", "name", "description", "attribute"]
    ordering_fields = ["id", "condition_id", "name", "status", "created_at", "updated_at"]
    ordering = ["condition_id", "id"]


@resource_schema(ActionSerializer, "catalog action")
class ActionViewSet(CatalogViewSet):
    queryset = Action.objects.select_related("tenant")
    serializer_class = ActionSerializer
    filterset_class = api_filters.ActionFilter
    search_fields = ["action_id", "name", "description", "action_type"]
    ordering_fields = ["id", "action_id", "name", "status", "created_at", "updated_at"]
    ordering = ["action_id", "id"]
