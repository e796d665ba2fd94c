"""The shared base of commands that work inside one tenant."""

from django.core.management.base import BaseCommand, CommandError

from rules.models import Tenant


class TenantCommand(BaseCommand):
    """A command with `--tenant SLUG` and, where it names ruleset versions, `--version V`."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version names a ruleset version here; "resolve" lets it replace Django's --version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def tenant_get(self, slug: str) -> Tenant:
        """The tenant `slug`, or a CommandError that says how to create it."""
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant {slug!r}; create it with create_tenant")
        return tenant
