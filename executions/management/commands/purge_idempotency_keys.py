from django.conf import settings
from django.core.management.base import BaseCommand

from executions.services.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS. Expired keys are "
        "already reusable; this keeps the table small. Run it hourly or daily (cron, a job)."
    )

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(
            f"deleted {deleted} idempotency keys older than "
            f"{settings.IDEMPOTENCY_KEY_TTL_HOURS:g} hours"
        )
