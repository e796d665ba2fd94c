from django.core.management.base import BaseCommand

from rules.services.tenancy import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (idempotent): manage.py create_tenant SLUG [--name NAME]"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, name, **options):
        tenant, created = tenant_create(slug=slug, name=name)
        verb = "Created" if created else "Tenant exists:"
        self.stdout.write(f"{verb} {tenant.slug} ({tenant.name})")
