from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from executions.rollups import execution_logs_rollup


class Command(BaseCommand):
    help = (
        "Summarise the finished hours of the execution log into the rollup table that /stats and "
        "the dashboard read (PostgreSQL). Idempotent and incremental: run it every few minutes "
        "(cron, a job); a run that finds another one running does nothing. On "
        "TimescaleDB the continuous aggregate's refresh policy does this; the command says so."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="Re-roll from this time on (ISO 8601 with a time zone), e.g. after an import of "
            "old logs; default: from the watermark (less one hour for late rows).",
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        since = None
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None or since.tzinfo is None:
                raise CommandError("--since needs an ISO 8601 time with a time zone")
        report = execution_logs_rollup(since=since, progress=self._progress)
        if report.skipped:
            self.stdout.write(f"rollup skipped: {report.skipped}")
            return
        self.stdout.write(
            f"rolled up {report.hours} hours ({_text(report.start)} to {_text(report.end)}): "
            f"{report.rows} rollup rows in {report.seconds:.1f} s; the log answers from "
            f"{_text(report.end)} on"
        )

    def _progress(self, start, end, report):
        if self.verbosity >= 2:
            self.stdout.write(f"  {_text(start)} to {_text(end)}: {report.rows} rows so far")


def _text(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"
