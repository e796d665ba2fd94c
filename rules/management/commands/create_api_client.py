from django.core.management.base import CommandError

from ruleengine.tenant_command import TenantCommand
from rules.choices import Role
from rules.errors import ServiceError
from rules.services.api_clients import api_client_create


class Command(TenantCommand):
    help = (
        "Create an API client (a service account with a role in one tenant) and print its token. "
        "Only the token goes to stdout, so scripts can capture it; it is shown this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--name", required=True, help="client name, unique in the tenant")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--expires-days", type=int, default=None, help="token lifetime (default: no expiry)"
        )

    def handle(self, *args, tenant, name, role, expires_days, **options):
        tenant_obj = self.tenant_get(tenant)
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days")
        try:
            client, token = api_client_create(
                tenant=tenant_obj, name=name, role=role, expires_days=expires_days
            )
        except ServiceError as error:
            raise CommandError(str(error)) from error
        expiry = f", expires in {expires_days} days" if expires_days else ""
        self.stderr.write(
            f"API client {client.name} is {role} in {tenant_obj.slug}{expiry}. "
            "The token below is shown only once: store it in your secret manager."
        )
        self.stdout.write(token)
