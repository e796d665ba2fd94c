from django.core.management.base import BaseCommand, CommandError

from rules.errors import ServiceError
from rules.services.database_check import database_check, database_config_from_env_file


class Command(BaseCommand):
    help = (
        "Check the database: connection, server and TimescaleDB versions, hypertables and "
        "unapplied migrations. Exits non-zero when anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--env-file", help="check the database an env file names instead of the configured one"
        )

    def handle(self, *args, env_file, **options):
        try:
            config, source = database_config_from_env_file(env_file) if env_file else (None, "")
        except ServiceError as error:
            raise CommandError(str(error)) from error
        report = database_check(config=config, source=source)
        self.stdout.write(f"Database: {report.target} ({report.engine}, from {report.source})")
        if report.server_version:
            self.stdout.write(f"Server: {report.server_version}")
            timescaledb = report.timescaledb_version or "not installed"
            self.stdout.write(f"TimescaleDB: {timescaledb}")
        for table in report.hypertables:
            compression = "on" if table["compression_enabled"] else "off"
            self.stdout.write(
                f"Hypertable {table['name']}: {table['chunks']} chunks, "
                f"{table['size_bytes'] / 1024:,.0f} KiB, compression {compression} "
                f"({table['compressed_chunks']} chunks compressed)"
            )
        if report.server_version and not report.unapplied_migrations:
            self.stdout.write("Migrations: all applied")
        for migration in report.unapplied_migrations:
            self.stdout.write(f"Unapplied migration: {migration}")
        if not report.ok:
            raise CommandError("; ".join(report.problems))
        self.stdout.write("OK")
