"""Give the Manager role the right to unlock logins (django-axes' access attempts)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    from core.roles import ensure_role_groups

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_role_groups(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), during_migration=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_roles"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
