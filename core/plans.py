"""Which features the shop's plan (settings.SHOP_PLAN) includes."""

from django.conf import settings

BILLING_PLANS = frozenset({"advanced", "professional"})
# URL namespaces that exist only on plans with billing agents and invoicing.
BILLING_NAMESPACES = frozenset({"billing_agents", "invoicing"})
PLAN_REQUIRED_MESSAGE = (
    "Billing agents and invoicing are available on Advanced and Professional plans."
)


def billing_enabled() -> bool:
    return settings.SHOP_PLAN in BILLING_PLANS
