import os

from django.core.management.base import BaseCommand

from rules.services.demo import DEMO_TENANT, demo_seed


class Command(BaseCommand):
    help = "Create the demo tenant, users and an active credit-scoring ruleset (idempotent)."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "demo-password-2026")
        logins = demo_seed(password=password)
        self.stdout.write(f"Demo tenant '{DEMO_TENANT}' is ready. Logins (user / password):")
        roles = {"admin": "superuser", "author": "author", "approver": "approver"}
        for username in logins:
            self.stdout.write(f"  {username:<9} / {password}   ({roles[username]})")
