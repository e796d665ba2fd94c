import json

from django.core.management.base import BaseCommand, CommandError

from executions.management.commands.backtest import moment
from executions.services.original_database import (
    DEFAULT_BATCH_SIZE,
    LogImportOptions,
    OriginalDatabaseError,
    original_database_import,
    url_redacted,
)

# Enough to see what is wrong; the JSON report has every one.
SKIPPED_SHOWN = 20
PROGRESS_EVERY_ROWS = 100_000


class Command(BaseCommand):
    help = (
        "Import the original system's database (its PostgreSQL / Tiger Cloud URL): tenants, "
        "rulesets with their version, status and default flag, rules, catalogs, patterns, "
        "attributes, then its execution logs (COPY, one transaction per batch). Run it again to "
        "resume an interrupted import: what is already here is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("database_url", help="postgres://user:password@host:port/db")
        parser.add_argument(
            "--default-tenant",
            default="default",
            help="tenant of rulesets without tenant_id and of logs without a ruleset "
            "(default: default)",
        )
        parser.add_argument(
            "--tenant",
            action="append",
            dest="tenant_ids",
            metavar="TENANT_ID",
            help="import only this original tenant_id (repeat for several)",
        )
        parser.add_argument("--dry-run", action="store_true", help="read and check; write nothing")
        parser.add_argument("--no-logs", action="store_true", help="the rule tables only")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"log rows per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument("--logs-since", help="only logs at or after this ISO date or time")
        parser.add_argument(
            "--logs-after-id",
            type=int,
            default=0,
            help="only logs whose original id is above this (the 'last id' of a previous run)",
        )
        parser.add_argument(
            "--limit", type=int, help="read at most this many logs now (a re-run continues)"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, database_url, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["limit"] is not None and options["limit"] < 0:
            raise CommandError("--limit must not be negative")
        try:
            since = moment(options["logs_since"]) if options["logs_since"] else None
        except ValueError as error:
            raise CommandError(f"--logs-since: {error}") from error
        log_options = LogImportOptions(
            batch_size=options["batch_size"],
            since=since,
            after_id=options["logs_after_id"],
            limit=options["limit"],
        )
        shown = {"next": PROGRESS_EVERY_ROWS}

        def progress(report):
            if not options["json"] and report.logs.read >= shown["next"]:
                shown["next"] += PROGRESS_EVERY_ROWS
                self.stderr.write(
                    f"execution_logs: {report.logs.read:,} read, {report.logs.created:,} "
                    f"created, last id {report.last_log_id} ({report.logs_per_second:,.0f} rows/s)"
                )

        try:
            report = original_database_import(
                database_url,
                default_tenant=options["default_tenant"],
                tenant_ids=options["tenant_ids"],
                dry_run=options["dry_run"],
                logs=not options["no_logs"],
                options=log_options,
                progress=progress,
            )
        except OriginalDatabaseError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(_report_data(report, database_url), indent=2))
        else:
            self._report_print(report, database_url)
        refused = sum(counts.refused_count for counts in report.tables.values())
        if refused:
            raise CommandError(
                f"{refused:,} {'row' if refused == 1 else 'rows'} could not be imported (listed "
                "above, by table and id); fix "
                "them in the original and run again: what is already imported is skipped"
            )

    def _report_print(self, report, database_url):
        write = self.stdout.write
        verb = "would be created" if report.dry_run else "created"
        write(f"Original database {url_redacted(database_url)}")
        write(f"{'table':<16}{'read':>10}{verb:>17}{'already here':>14}{'skipped':>10}")
        for name, counts in report.tables.items():
            write(
                f"{name:<16}{counts.read:>10,}{counts.created:>17,}{counts.present:>14,}"
                f"{counts.skipped_count:>10,}"
            )
        for name, counts in report.tables.items():
            for row_id, reason, count, _ in counts.skipped[:SKIPPED_SHOWN]:
                rows = f" ({count:,} rows)" if count != 1 else ""
                write(f"  skipped {name} {row_id}{rows}: {reason}")
            if len(counts.skipped) > SKIPPED_SHOWN:
                write(f"  ... and {len(counts.skipped) - SKIPPED_SHOWN:,} more in {name} (--json)")
            for note in counts.notes:
                write(f"  note {name}: {note}")
        if report.logs.read:
            write(
                f"execution_logs: {report.logs.read:,} rows in {report.logs_seconds:.1f} s "
                f"({report.logs_per_second:,.0f} rows/s); last original id {report.last_log_id}"
            )
        if report.stopped_at_limit:
            write(
                f"Stopped at --limit; run again to continue (or --logs-after-id "
                f"{report.last_log_id})."
            )
        if report.dry_run:
            write("Dry run: nothing was written.")


def _report_data(report, database_url) -> dict:
    return {
        "database": url_redacted(database_url),
        "dry_run": report.dry_run,
        "tables": {
            name: {
                "read": counts.read,
                "created": counts.created,
                "already_present": counts.present,
                "skipped": [
                    {"id": str(row_id), "reason": reason, "rows": count, "refused": refused}
                    for row_id, reason, count, refused in counts.skipped
                ],
                "notes": counts.notes,
            }
            for name, counts in report.tables.items()
        },
        "rulesets": {
            str(original_id): {
                "tenant": target.tenant_slug,
                # A dry run's ids were rolled back with everything else.
                "ruleset_id": None if report.dry_run else target.ruleset_id,
                "name": target.name,
                "version": target.version,
            }
            for original_id, target in report.rules.rulesets.items()
        },
        "execution_logs": {
            "seconds": round(report.logs_seconds, 3),
            "rows_per_second": round(report.logs_per_second),
            "last_original_id": report.last_log_id,
            "stopped_at_limit": report.stopped_at_limit,
        },
    }
