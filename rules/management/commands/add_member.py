import getpass
import os

from django.core.management.base import CommandError

from ruleengine.tenant_command import TenantCommand
from rules.choices import Role
from rules.services.tenancy import member_add


class Command(TenantCommand):
    help = (
        "Give a user a role in a tenant, creating the user if needed (idempotent): the operators' "
        "way to put an existing account into a tenant (tenant admins invite instead). The "
        "password of a new user, or a new password, comes from DJANGO_MEMBER_PASSWORD, else a "
        "prompt for a new user."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")

    def handle(self, *args, username, tenant, role, email, **options):
        tenant_obj = self.tenant_get(tenant)
        from django.contrib.auth import get_user_model

        password = os.environ.get("DJANGO_MEMBER_PASSWORD") or None
        exists = get_user_model().objects.filter(username=username).exists()
        if not exists and password is None and options.get("interactive", True):
            if not os.isatty(0):
                raise CommandError(
                    f"{username} is a new user: set DJANGO_MEMBER_PASSWORD or run interactively"
                )
            password = getpass.getpass(f"Password for {username}: ")
        membership, created = member_add(
            username=username, tenant=tenant_obj, role=role, password=password, email=email
        )
        user_note = "new user" if created else "existing user"
        self.stdout.write(f"{username} ({user_note}) is {membership.role} in {tenant_obj.slug}")
