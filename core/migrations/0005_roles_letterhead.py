"""Grant the letterhead permissions to Managers."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    from core.roles import ensure_role_groups

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    # Every roles migration reads today's table; tests/core/test_access.py checks the result.
    ensure_role_groups(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), during_migration=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_letterhead"),
        ("invoicing", "0011_snapshot_constraint"),
        ("tickets", "0007_payer_reference"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
