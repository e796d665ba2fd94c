from django.core.management.base import BaseCommand, CommandError

from rules.services.snapshots import snapshot_storage, snapshots_publish


class Command(BaseCommand):
    help = (
        "Write the snapshots of activated versions whose publication is pending or failed "
        "(--all: of every active version)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="republish every active version")

    def handle(self, *args, **options):
        _, where = snapshot_storage()
        publications = snapshots_publish(all_active=options["all"])
        failed = [p for p in publications if p.status == p.Status.FAILED]
        for publication in publications:
            ruleset = publication.ruleset
            detail = publication.error if publication in failed else publication.location
            self.stdout.write(
                f"{ruleset.tenant.slug} {ruleset.name} {ruleset.version}: "
                f"{publication.status} ({detail})"
            )
        self.stdout.write(
            f"{len(publications) - len(failed)} published, {len(failed)} failed, to {where}."
        )
        if failed:
            raise CommandError(f"{len(failed)} snapshots could not be written; see above")
