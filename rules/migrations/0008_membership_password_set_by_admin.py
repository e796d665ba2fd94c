"""Membership.password_set_by_admin: the hash of the password a tenant admin chose for a new
account. Existing rows get "" (nothing recorded), so their accounts accept invitations as before.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0007_invitation_and_strict_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="password_set_by_admin",
            field=models.CharField(blank=True, default="", editable=False, max_length=128),
        ),
    ]
