"""Grant the corrections permissions (void, write-off, refunds) to their roles."""

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
        ("core", "0002_roles_axes"),
        ("invoicing", "0005_correction_permissions"),
        ("tickets", "0004_correction_permissions"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
