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
    "billing_agents.view_billingagent",
]
_BILLING_PERMS = [
    *_FRONT_DESK_PERMS,
    "billing_agents.add_billingagent",
    "billing_agents.change_billingagent",
    "invoicing.view_invoice",
    "invoicing.add_invoice",
    "invoicing.change_invoice",
    "invoicing.add_remittance",
    "invoicing.view_remittance",
    "invoicing.view_credittransaction",
]
_MANAGER_PERMS = [
    *_BILLING_PERMS,
    "billing_agents.deactivate_billingagent",
    "billing_agents.override_credit_limit",
    "invoicing.delete_invoice",
    "invoicing.adjust_credit",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    FRONT_DESK: _FRONT_DESK_PERMS,
    BILLING: _BILLING_PERMS,
    MANAGER: _MANAGER_PERMS,
}
