"""Create the Front Desk, Billing and Manager groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from core.roles import ensure_role_groups

    # Permissions are normally created after migrate; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    # Permissions later migrations add are skipped here; the newest roles migration grants them.
    ensure_role_groups(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), during_migration=True
    )


def remove_roles(apps, schema_editor):
    from core.roles import ROLE_PERMISSIONS

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing_agents", "0001_initial"),
        ("customers", "0001_initial"),
        ("tickets", "0001_initial"),
        ("invoicing", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
