# Written by hand: a rename keeps the column's data, where makemigrations would drop and re-add it
# (the field also loses its now-redundant verbose_name "operator", so the autodetector sees no
# rename). The AlterFields change no SQL.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rules', '0005_ruleset_test_case'),
    ]

    operations = [
        migrations.RenameField(
            model_name='rule',
            old_name='condition',
            new_name='operator',
        ),
        migrations.RenameField(
            model_name='historicalrule',
            old_name='condition',
            new_name='operator',
        ),
        migrations.AlterField(
            model_name='rule',
            name='operator',
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AlterField(
            model_name='historicalrule',
            name='operator',
            field=models.CharField(blank=True, max_length=40),
        ),
    ]
