"""The staff roles of DESIGN.md as Django groups, and the permissions each one holds.

A data migration creates the groups from this table; views check the permissions
(never the group names), so a shop can grant a single permission to one person.
"""

FRONT_DESK = "Front Desk"
BILLING = "Billing"
MANAGER = "Manager"

_FRONT_DESK_PERMS = [
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "tickets.view_ticket",
    "tickets.add_ticket",
    "tickets.change_ticket",
    "tickets.view_location",
]
_BILLING_PERMS = [
    *_FRONT_DESK_PERMS,
    "billing_agents.view_billingagent",
    "billing_agents.add_billingagent",
    "billing_agents.change_billingagent",
    "invoicing.view_invoice",
    "invoicing.add_invoice",
    "invoicing.change_invoice",
    "invoicing.add_remittance",
    "invoicing.view_remittance",
    "invoicing.view_credittransaction",
    "tickets.refund_deposit",
]
_MANAGER_PERMS = [
    *_BILLING_PERMS,
    "billing_agents.deactivate_billingagent",
    "billing_agents.override_credit_limit",
    "invoicing.delete_invoice",
    "invoicing.adjust_credit",
    "invoicing.void_remittance",
    "invoicing.write_off_invoice",
    "invoicing.refund_credit",
    "core.view_letterhead",
    "core.change_letterhead",
    # Unlock a login that django-axes locked: the admin's "Access attempts" list.
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    FRONT_DESK: _FRONT_DESK_PERMS,
    BILLING: _BILLING_PERMS,
    MANAGER: _MANAGER_PERMS,
}


def ensure_role_groups(
    group_model=None, permission_model=None, *, during_migration: bool = False
) -> None:
    """Create (or re-create) the role groups with exactly their permissions.

    The data migrations pass their historical models and `during_migration=True`: a
    permission whose model or Meta entry a later migration adds is skipped then, and a
    later roles migration (depending on the migration that adds it) grants it;
    tests/core/test_access.py checks that a migrated database holds exactly
    ROLE_PERMISSIONS. Tests call it with no arguments after a flush (transactional tests
    empty the tables, groups included).
    """
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        perms = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            found = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is None and not during_migration:
                raise LookupError(f"Permission {dotted} of the role {name} does not exist.")
            if found is not None:
                perms.append(found)
        group.permissions.set(perms)
