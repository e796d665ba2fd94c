from django.core.management.base import CommandError

from ruleengine.tenant_command import TenantCommand
from rules.errors import ServiceError
from rules.selectors.rulesets import ruleset_lookup
from rules.services.ruleset_export import ruleset_export_file
from rules.services.storage import STDIO, document_write


class Command(TenantCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # DEST may follow the options (export_rules NAME --tenant T DEST), which plain
        # parse_args cannot match to an optional positional.
        parser.parse_args = parser.parse_intermixed_args
        return parser

    help = (
        "Export a ruleset version in the project's JSON format (a decision-table ruleset as DMN "
        "1.3 XML) to a path, s3://bucket/key or stdout (default version: the active one, else "
        "the latest)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("destination", nargs="?", default=STDIO, help="path, s3://..., or -")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--version", dest="ruleset_version")

    def handle(self, *args, name, destination, tenant, ruleset_version, **options):
        tenant_obj = self.tenant_get(tenant)
        try:
            ruleset = ruleset_lookup(tenant=tenant_obj, name=name, version=ruleset_version)
            content, _, _ = ruleset_export_file(ruleset=ruleset)
            if destination == STDIO:
                self.stdout.write(content.decode(), ending="")
                return
            document_write(destination, content)
        except ServiceError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(
            f"Exported {ruleset.name} {ruleset.version} ({ruleset.status}) to {destination}."
        )
