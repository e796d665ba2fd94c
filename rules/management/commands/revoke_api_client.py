from django.core.management.base import CommandError

from ruleengine.tenant_command import TenantCommand
from rules.errors import ServiceError
from rules.models import ApiClient
from rules.services.api_clients import api_client_revoke, api_client_token_rotate


class Command(TenantCommand):
    help = (
        "Revoke an API client (its tokens stop working on every node at once), or rotate it. "
        "A client revoked before is refused (exit 1): it stays revoked, and gets no new token."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--name", required=True, help="client name")
        parser.add_argument(
            "--rotate", action="store_true", help="issue a new token (printed) instead of revoking"
        )
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, tenant, name, rotate, expires_days, **options):
        tenant_obj = self.tenant_get(tenant)
        client = ApiClient.objects.for_tenant(tenant_obj).filter(name=name).first()
        if client is None:
            raise CommandError(f"tenant {tenant_obj.slug} has no API client {name!r}")
        try:
            if rotate:
                token = api_client_token_rotate(client=client, expires_days=expires_days)
            else:
                api_client_revoke(client=client)
        except ServiceError as error:
            raise CommandError(str(error)) from error
        if rotate:
            self.stderr.write(f"API client {name}: new token below; the old ones no longer work.")
            self.stdout.write(token)
            return
        self.stdout.write(f"API client {name} in {tenant_obj.slug} is revoked")
