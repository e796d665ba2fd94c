from django.core.management.base import BaseCommand, CommandError

from executions.rollups import PRUNE_BATCH_SIZE, duration_parse, execution_logs_prune


class Command(BaseCommand):
    help = (
        "Delete execution log rows older than --older-than (PostgreSQL without TimescaleDB), in "
        "batches of one transaction each: stop it at any time and run it again to go on. Rows "
        "the rollup has not summarised yet are kept, so statistics keep every hour. On "
        "TimescaleDB the retention policy drops whole chunks and this does nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", required=True, help="Age of the rows to delete: 90d, 36h, 2w."
        )
        parser.add_argument(
            "--batch-size", type=int, default=PRUNE_BATCH_SIZE, help="Rows per transaction."
        )
        parser.add_argument("--max-batches", type=int, help="Stop after this many batches.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the rows it would delete."
        )

    def handle(self, *args, **options):
        try:
            older_than = duration_parse(options["older_than"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        report = execution_logs_prune(
            older_than=older_than,
            batch_size=options["batch_size"],
            max_batches=options["max_batches"],
            dry_run=options["dry_run"],
        )
        if report.skipped:
            self.stdout.write(f"prune skipped: {report.skipped}")
            return
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if report.cutoff is None:
            return
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(
            f"{verb} {report.deleted} log rows older than {report.cutoff.isoformat()}"
            + ("" if options["dry_run"] else f" in {report.batches} batches")
        )
