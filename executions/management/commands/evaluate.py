import sys

from django.core.management.base import CommandError

from executions.models import ExecutionSource
from executions.services.evaluation import evaluations_stream
from executions.services.log_writes import LogUnavailable
from ruleengine.tenant_command import TenantCommand
from rules.errors import ServiceError
from rules.services.active_rulesets import active_compiled_ruleset


class Command(TenantCommand):
    help = (
        "Evaluate JSON inputs, one object per line, against a ruleset; prints one JSON result "
        "per line. Logs each evaluation with source cli unless --no-log."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--version", dest="ruleset_version", help="default: the active one")
        parser.add_argument("--input", default="-", help="JSON lines file, or - for stdin")
        parser.add_argument("--trace", action="store_true", help="add each rule's explanation")
        parser.add_argument("--no-log", action="store_true", help="write no execution logs")

    def handle(self, *args, name, tenant, ruleset_version, input, trace, no_log, **options):
        tenant_obj = self.tenant_get(tenant)
        try:
            compiled, identity = active_compiled_ruleset(
                tenant=tenant_obj, name=name, version=ruleset_version
            )
        except ServiceError as error:
            raise CommandError(str(error)) from error
        try:
            stream = sys.stdin.buffer if input == "-" else open(input, "rb")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"{input}: {error.strerror or error}") from error
        with stream:
            try:
                report = evaluations_stream(
                    compiled=compiled,
                    ruleset=identity,
                    tenant_id=tenant_obj.pk,
                    lines=stream,
                    write=lambda text: self.stdout.write(text, ending=""),
                    trace=trace,
                    log_source=None if no_log else ExecutionSource.CLI,
                )
            except LogUnavailable as error:
                raise CommandError(f"the execution log is unavailable: {error}") from error
        rate = report.evaluated / report.seconds if report.seconds else 0
        # The report goes to stderr so stdout stays one JSON result per line.
        self.stderr.write(
            f"{identity['name']} {identity['version']} ({identity['source']}): "
            f"{report.evaluated} evaluated, {report.errors} bad lines, {report.logged} logged, "
            f"{report.seconds:.2f} s ({rate:,.0f} lines/s)"
        )
