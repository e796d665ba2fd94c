"""Decision-table rulesets (DMN 1.3): their checks, compilation, new versions and export.

The model itself is pure (rules.engine.dmn); a version stores it as `DecisionModel.definitions`
(the engine's `Definitions.as_dict()`). Compiled models are cached by the same per-revision cache
as scoring rulesets (services/active_rulesets.py), so the same change notifications drop them.
"""

import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from rules.choices import Capability, RulesetKind
from rules.engine import WARNING, Problem, dmn
from rules.errors import RulesetInvalid, ServiceError
from rules.models import DecisionModel, Ruleset
from rules.selectors.decision_models import decision_definitions
from rules.services.editing import ruleset_editable_check, ruleset_touch
from rules.services.tenancy import capability_require

NO_MODEL = "the decision-table ruleset has no DMN model; import a .dmn file"


class DmnDocumentTooLarge(ServiceError):
    code = "too_large"


def dmn_document_read(document: str | bytes, *, heading: str) -> dmn.Definitions:
    """A DMN document (XML text or bytes) read within the import limits, for the import and the
    editor's save alike: DmnDocumentTooLarge over IMPORT_MAX_DOCUMENT_BYTES or IMPORT_MAX_RULES
    rows, RulesetInvalid naming the element and line of XML that cannot be read."""
    content = document.encode("utf-8") if isinstance(document, str) else bytes(document)
    limit = settings.IMPORT_MAX_DOCUMENT_BYTES
    if len(content) > limit:
        raise DmnDocumentTooLarge(
            f"The DMN model is {len(content):,} bytes; at most {limit:,} bytes are taken "
            "(IMPORT_MAX_DOCUMENT_BYTES)."
        )
    try:
        definitions = dmn.read_dmn(content)
    except dmn.DmnImportError as error:
        raise RulesetInvalid(error.problems, heading=heading) from error
    rows = dmn_row_count(definitions)
    if rows > settings.IMPORT_MAX_RULES:
        raise DmnDocumentTooLarge(
            f"The DMN model has {rows:,} rows; at most {settings.IMPORT_MAX_RULES:,} are taken "
            "(IMPORT_MAX_RULES)."
        )
    return definitions


def dmn_row_count(definitions: dmn.Definitions) -> int:
    """The rows of all the model's decision tables (what IMPORT_MAX_RULES bounds)."""
    return sum(
        len(decision.logic.rules)
        for decision in definitions.decisions
        if isinstance(decision.logic, dmn.DecisionTable)
    )


def decision_model_problems(ruleset: Ruleset) -> list[Problem]:
    """Every problem of the version's model (each naming its decision, row and cell)."""
    definitions = decision_definitions(ruleset)
    if definitions is None:
        return [Problem(rule_id=None, message=NO_MODEL, path="decision_model")]
    return list(dmn.definitions_problems(definitions, semantics=str(ruleset.semantics)))


def decision_model_compiled(ruleset: Ruleset) -> dmn.CompiledDefinitions:
    """The version's model compiled; raises dmn.DmnCompileError (a RulesetCompileError, as
    compilation.ruleset_compile raises for scoring rulesets) listing every problem."""
    definitions = decision_definitions(ruleset)
    if definitions is None:
        raise dmn.DmnCompileError([Problem(rule_id=None, message=NO_MODEL, path="decision_model")])
    return dmn.compile_definitions(definitions, semantics=str(ruleset.semantics))


def decision_model_compile(ruleset: Ruleset) -> dmn.CompiledDefinitions:
    """The version's model compiled for serving (raises RulesetInvalid listing every problem)."""
    try:
        return decision_model_compiled(ruleset)
    except dmn.DmnCompileError as error:
        raise RulesetInvalid(
            error.problems, heading=f"{ruleset.name} {ruleset.version} does not compile"
        ) from error


def decision_model_create(
    *, ruleset: Ruleset, definitions: dmn.Definitions, actor, change_reason: str = ""
) -> DecisionModel:
    """Store `definitions` as the model of a new (draft) version; the caller holds the
    transaction and has checked the role."""
    model = DecisionModel(ruleset=ruleset, definitions=definitions.as_dict())
    model._history_user = actor
    if change_reason:
        model._change_reason = change_reason
    model.save()
    return model


EDITOR_CHANGE_REASON = "Edited in the DMN editor"


def decision_model_replace(
    *, ruleset: Ruleset, xml: str | bytes, actor, change_reason: str = EDITOR_CHANGE_REASON
) -> DecisionModel:
    """Replace a draft decision-table version's model by the DMN XML `xml` (what the admin's
    dmn-js editor saves). All or nothing: XML that cannot be read (naming the element and
    line), a model with problems (naming the decision, row and cell) or one over the import
    limits raises RulesetInvalid listing every problem, and nothing is written; a published
    version raises RulesetReadOnly, a role without `edit` NotAllowed."""
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    with transaction.atomic():
        locked = Ruleset.objects.select_for_update().get(pk=ruleset.pk)
        heading = f"{locked.name} {locked.version} was not saved"
        if locked.kind != RulesetKind.DECISION_TABLE:
            raise RulesetInvalid(
                [Problem(None, f"{locked.name} is a scoring ruleset, not a DMN model", "kind")],
                heading=heading,
            )
        ruleset_editable_check(locked)
        try:
            definitions = dmn_document_read(xml, heading=heading)
        except DmnDocumentTooLarge as error:  # the editor lists it with the other problems
            raise RulesetInvalid([Problem(None, str(error), "")], heading=heading) from error
        problems = dmn.definitions_problems(definitions, semantics=str(locked.semantics))
        errors = [problem for problem in problems if problem.severity != WARNING]
        if errors:
            raise RulesetInvalid(errors, heading=heading)
        model = DecisionModel.objects.filter(ruleset=locked).first() or DecisionModel(
            ruleset=locked
        )
        model.definitions = definitions.as_dict()
        model._history_user = actor
        if change_reason:
            model._change_reason = change_reason
        model.save()
        # A new revision drops cached compilations of the version (as every draft edit does).
        ruleset_touch(locked.pk, actor)
    return model


def decision_model_copy(*, source: Ruleset, draft: Ruleset, actor) -> None:
    """Copy the source version's model into a new draft version (ruleset_new_version)."""
    models = list(DecisionModel.objects.filter(ruleset=source))
    now = timezone.now()
    for model in models:
        model.pk = None
        model.ruleset = draft
        model.created_at = model.updated_at = now
    bulk_create_with_history(models, DecisionModel, default_user=actor)


def decision_model_xml(ruleset: Ruleset) -> str:
    """The version's model as DMN 1.3 XML (what export_rules writes and the admin downloads)."""
    definitions = decision_definitions(ruleset)
    if definitions is None:
        raise RulesetInvalid(
            [Problem(rule_id=None, message=NO_MODEL, path="decision_model")],
            heading=f"{ruleset.name} {ruleset.version} cannot be exported",
        )
    return dmn.write_dmn(definitions, diagram=True)


def decision_ruleset_document(ruleset: Ruleset) -> dict:
    """The version as JSON (the API's export and the published snapshot): its header and the
    model as `Definitions.as_dict()`; `kind` tells it from a scoring ruleset's document."""
    model = DecisionModel.objects.filter(ruleset=ruleset).values_list("definitions", flat=True)
    return {
        "kind": RulesetKind.DECISION_TABLE.value,
        "ruleset": {
            "name": ruleset.name,
            "version": ruleset.version,
            "description": ruleset.description,
            "is_default": ruleset.is_default,
            "tags": ruleset.tags,
            "metadata": ruleset.metadata,
            "semantics": str(ruleset.semantics),
        },
        "decision_model": model.first(),
    }


def decision_document_compile(document: dict, *, where: str) -> dmn.CompiledDefinitions:
    """Compile a `decision_ruleset_document` (a snapshot); raises RulesetInvalid."""
    heading = f"{where} does not compile"
    header = document.get("ruleset") if isinstance(document.get("ruleset"), dict) else {}
    try:
        definitions = dmn.definitions_from_dict(document.get("decision_model") or {})
    except (KeyError, TypeError, ValueError) as error:
        raise RulesetInvalid(
            [Problem(None, f"not a decision model: {error}", "decision_model")], heading=heading
        ) from error
    try:
        return dmn.compile_definitions(definitions, semantics=header.get("semantics") or dmn.STRICT)
    except dmn.DmnCompileError as error:
        raise RulesetInvalid(error.problems, heading=heading) from error


# ExecutionLog.action_recommendation's length: the log row records this text.
RECOMMENDATION_LIMIT = 200


def decision_top_output_text(evaluation: dmn.DmnEvaluation) -> str | None:
    """The top decision's result as text when it is one value (a string, number, boolean, date
    or duration): what the log row records as the recommendation and stats count. A
    multi-output result counts by its first output column (`decision` of {decision, rate}),
    the one a table lists first. None for null and lists."""
    if evaluation.top_decision is None:
        return None
    value = evaluation.as_dict()["outputs"].get(evaluation.top_decision)
    if isinstance(value, dict):
        value = next(iter(value.values()), None)
    if value is None or isinstance(value, list | dict):
        return None
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    return text[:RECOMMENDATION_LIMIT]
