"""Which features the shop's plan (settings.SHOP_PLAN) includes, and which views serve them."""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

BILLING_PLANS = frozenset({"advanced", "professional"})
# Apps whose every view is a billing feature: the gate follows the view's module, so a new
# view there is gated without anyone remembering to mark it.
BILLING_APPS = frozenset({"billing_agents", "invoicing", "reports", "statements", "billing_runs"})
PLAN_REQUIRED_MESSAGE = (
    "Billing agents and invoicing are available on Advanced and Professional plans."
)
GATE_MARKER = "requires_billing_plan"

View = TypeVar("View", bound=Callable)


def billing_enabled() -> bool:
    return settings.SHOP_PLAN in BILLING_PLANS


def requires_billing_plan(view: View) -> View:
    """Mark a view outside the billing apps as a billing feature (PlanGateMiddleware refuses it).

    The mark is a function attribute, which functools.wraps-based decorators carry outward.
    """
    setattr(view, GATE_MARKER, True)
    return view


def is_billing_feature(view: Callable) -> bool:
    """True for a view the plan gate refuses on plans without billing agents and invoicing."""
    module = getattr(view, "__module__", "") or ""
    return getattr(view, GATE_MARKER, False) or module.partition(".")[0] in BILLING_APPS
