"""Import a ruleset and make it the tenant's default, in one transaction (`import_rules --default`).

The default ruleset is the one evaluated when a request names none: our `POST /evaluate` without
`ruleset`, and the original system's `POST /api/v1/rules/execute`, which names none by design.
"""

from django.db import transaction

from rules.services import lifecycle
from rules.services.ruleset_import import ImportReport, ruleset_import


@transaction.atomic
def ruleset_import_as_default(*, tenant, actor, **import_options) -> ImportReport:
    """ruleset_import(...) and then lifecycle.ruleset_set_default on what it created (or on the
    version with the same content, when unchanged); all or nothing. A dry run sets nothing."""
    report = ruleset_import(tenant=tenant, actor=actor, **import_options)
    ruleset = report.created or report.existing
    if not report.dry_run and ruleset is not None:
        lifecycle.ruleset_set_default(ruleset_id=ruleset.pk, actor=actor)
    return report
