from django.conf import settings
from django.core.management.base import BaseCommand

from executions.timeseries import (
    timeseries_policies_apply,
    timeseries_policies_remove,
    timeseries_policies_status,
)


class Command(BaseCommand):
    help = (
        "Apply the execution log's TimescaleDB policies from the settings (compression after "
        "EXECUTION_LOG_COMPRESS_AFTER_DAYS, retention EXECUTION_LOG_RETENTION_DAYS, hourly "
        "aggregate EXECUTION_LOG_HOURLY_AGGREGATE), remove them, or show what exists. "
        "Idempotent; does nothing on PostgreSQL and SQLite."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--remove",
            action="store_true",
            help="remove the policies and the aggregate, decompress chunks, turn compression off",
        )
        action.add_argument("--status", action="store_true", help="only show what exists")

    def handle(self, *args, remove, status, **options):
        if status:
            report = timeseries_policies_status()
        elif remove:
            report = timeseries_policies_remove()
        else:
            self.stdout.write(
                f"settings: compress after {settings.EXECUTION_LOG_COMPRESS_AFTER_DAYS} days "
                f"(0 = off), retention {settings.EXECUTION_LOG_RETENTION_DAYS} days "
                f"(0 = keep), hourly aggregate {settings.EXECUTION_LOG_HOURLY_AGGREGATE}"
            )
            report = timeseries_policies_apply()
        if report.skipped:
            self.stdout.write(f"skipped: {report.skipped}")
            return
        if not status:
            self.stdout.write("\n".join(report.actions) or "nothing to change")
            report = timeseries_policies_status()
        self.stdout.write("\n".join(report.actions))
