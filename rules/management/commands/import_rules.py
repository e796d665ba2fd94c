from django.core.management.base import CommandError

from ruleengine.tenant_command import TenantCommand
from rules.choices import RulesetSemantics
from rules.errors import ServiceError
from rules.services.default_import import ruleset_import_as_default
from rules.services.import_report import import_report_lines
from rules.services.ruleset_import import ruleset_import
from rules.services.storage import document_read


class Command(TenantCommand):
    help = (
        "Import a ruleset (the project's format, the original flat / structured files, or a "
        "DMN 1.1-1.3 file as decision tables) from a path, - (stdin) or s3://bucket/key as a new "
        "draft version, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="path, - or s3://bucket/key")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--conditions", help="conditions catalog of a structured rules file")
        parser.add_argument(
            "--name", help="ruleset name (default: from the document, else the file's name)"
        )
        parser.add_argument("--version", dest="ruleset_version", help="version of the new draft")
        parser.add_argument("--activate", action="store_true", help="activate it after import")
        parser.add_argument(
            "--default",
            action="store_true",
            help="make it the tenant's default ruleset (evaluated when a request names none, "
            "as the original system's POST /api/v1/rules/execute)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--semantics",
            choices=RulesetSemantics.values,
            help="how the ruleset evaluates (default: the document's; 'original' for the "
            "original system's files)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="refuse an original file the original would only warn about (an unknown "
            "catalog id in a complex rule, a rule it skips, a duplicate rule id)",
        )

    def handle(self, *args, source, tenant, conditions, name, ruleset_version, **options):
        tenant_obj = self.tenant_get(tenant)
        try:
            document = document_read(source)
            conditions_document = document_read(conditions) if conditions else None
            run_import = ruleset_import_as_default if options["default"] else ruleset_import
            report = run_import(
                tenant=tenant_obj,
                actor=None,
                document=document,
                conditions_document=conditions_document,
                name=name,
                filename=source,
                version=ruleset_version,
                activate=options["activate"],
                dry_run=options["dry_run"],
                semantics=options["semantics"],
                strict=options["strict"],
            )
        except ServiceError as error:
            raise CommandError(str(error)) from error
        for line in import_report_lines(report, semantics_hint="; --semantics strict to change"):
            self.stdout.write(line)
        if options["default"]:
            would = "would be" if report.dry_run else "is now"
            self.stdout.write(
                f"Default: {report.name} {would} tenant {tenant}'s default ruleset (its active "
                "version answers requests that name no ruleset)."
            )
