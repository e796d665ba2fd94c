"""Ruleset versions: drafts' CRUD, lifecycle actions, new versions, export, test runs, import."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from ruleengine.api.access import capability_check, request_tenant
from ruleengine.api.errors import service_error_response
from ruleengine.api.schema import error_response
from ruleengine.throttling import TestRunThrottle
from ruleengine.worker_slots import worker_slot
from rules.api import filters as api_filters
from rules.api.decision_documents import EXPORT_DOCUMENT
from rules.api.parsers import DmnBodyParser, DmnTextBodyParser, DocumentBodyParser
from rules.api.reports import (
    ImportOptionsSerializer,
    ImportReportSerializer,
    TestRunReportSerializer,
)
from rules.api.schema import (
    IMPORT_DOCUMENT,
    TENANT_HEADER_PARAMETER,
    error_responses,
    resource_schema,
    transition_schema,
)
from rules.api.serializers import (
    NewVersionSerializer,
    RulesetActivationSerializer,
    RulesetSerializer,
)
from rules.api.views.tenant_scoped import TenantScopedViewSet, validation_errors_as_400
from rules.choices import Capability
from rules.errors import RulesetInvalid
from rules.models import Ruleset
from rules.services import editing, lifecycle, ruleset_export, ruleset_import, test_cases


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
        responses={200: EXPORT_DOCUMENT, **error_responses(404)},
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
    # Non-production work: TEST_RUN_RATE_LIMIT per client, in one of the node's worker slots.
    @action(
        detail=True,
        methods=["post"],
        url_path="test",
        url_name="test",
        throttle_classes=[TestRunThrottle],
    )
    def run_tests(self, request, pk=None):
        ruleset = self.get_object()
        with worker_slot():
            report = test_cases.ruleset_tests_run(ruleset=ruleset)
        return Response(report.as_dict())

    @extend_schema(
        summary="Import a document as a new draft",
        description="The body is a document in the project's JSON format, or the original "
        "system's flat rules file, or its structured rules file with the catalog's "
        "`conditions_set` added to the same object (`name` is then required). All or nothing: "
        "a document with problems writes nothing and answers 400 listing every problem with "
        "its rule id and JSON path. A document equal to the latest version creates nothing "
        "(200, `unchanged`). Documents above IMPORT_MAX_DOCUMENT_BYTES (8 MiB) or with more "
        "than IMPORT_MAX_RULES (10,000) rules answer 413. A DMN 1.1/1.2/1.3 file "
        "(`Content-Type: application/xml`) becomes a decision-table ruleset named by `name` "
        "or the definitions' name; XML it cannot read answers 400 naming the element. (The XML "
        "body is not listed as a request content type: generated clients refuse one.)",
        request={"application/json": IMPORT_DOCUMENT},
        parameters=[ImportOptionsSerializer, TENANT_HEADER_PARAMETER],
        responses={
            201: OpenApiResponse(ImportReportSerializer, description="A draft was created."),
            200: OpenApiResponse(
                ImportReportSerializer, description="Dry run, or unchanged: nothing was written."
            ),
            **error_responses(400, 403, 404),
            413: error_response(
                "The document is larger than IMPORT_MAX_DOCUMENT_BYTES or has more rules than "
                "IMPORT_MAX_RULES; the message names the limit."
            ),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[DocumentBodyParser, DmnBodyParser, DmnTextBodyParser],
    )
    def import_document(self, request):
        tenant = request_tenant(request)
        capability_check(request, tenant, Capability.EDIT)
        options = ImportOptionsSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        try:
            # The body's bytes (DocumentBodyParser): the service reads them like a file's.
            report = ruleset_import.ruleset_import(
                tenant=tenant, actor=request.user, document=request.data, **options.validated_data
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
                "semantics": report.semantics,
                "generated_rule_ids": report.generated_rule_ids,
                "normalisations": report.normalisations,
                "warnings": report.warnings,
                "created": created,
            },
            context=self.get_serializer_context(),
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
