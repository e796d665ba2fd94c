from django.core.management.base import CommandError

from ruleengine.tenant_command import TenantCommand
from rules.engine.problems import problems_text
from rules.errors import ServiceError
from rules.services.test_cases import ruleset_tests_run, ruleset_tests_target


class Command(TenantCommand):
    help = (
        "Run a ruleset version's test cases and print a pass/fail table; exits non-zero when "
        "any fails (default version: the active one, else the newest draft)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--version", dest="ruleset_version")

    def handle(self, *args, name, tenant, ruleset_version, **options):
        tenant_obj = self.tenant_get(tenant)
        try:
            ruleset = ruleset_tests_target(tenant=tenant_obj, name=name, version=ruleset_version)
        except ServiceError as error:
            raise CommandError(str(error)) from error
        report = ruleset_tests_run(ruleset=ruleset)
        title = f"{ruleset.name} {ruleset.version} ({ruleset.status})"
        if report.compile_problems:
            raise CommandError(
                f"{title} does not compile: {problems_text(report.compile_problems)}"
            )
        if not report.results:
            self.stdout.write(f"{title}: no test cases.")
            self.stderr.write("warning: nothing checks this version's outcomes; add test cases.")
            return
        width = max(len(result.name) for result in report.results)
        self.stdout.write(f"{title}: {report.total} test cases")
        for result in report.results:
            status = "PASS" if result.passed else "FAIL"
            self.stdout.write(f"  {status}  {result.name.ljust(width)}  {result.diff}".rstrip())
        failed = len(report.failures)
        summary = f"{report.total - failed} passed, {failed} failed"
        if failed:
            raise CommandError(summary)
        self.stdout.write(summary)
