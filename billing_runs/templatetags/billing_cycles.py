"""`{% load billing_cycles %}`: a payer's billing cycle in words, for the agent and
customer pages (whose views do not know billing runs)."""

from django import template
from django.core.exceptions import ObjectDoesNotExist

from billing_runs.cycles import describe
from invoicing.models import Account

register = template.Library()


@register.filter
def billing_cycle(payer_or_account) -> str:
    """The cycle in words ("Weekly on Friday", "Monthly on day 1", …) of an account or a
    payer (agent or customer); "No fixed cycle" for a payer without an account yet.
    Given a payer, it reads the payer's account (one query)."""
    account = payer_or_account
    if not isinstance(account, Account):
        try:
            account = payer_or_account.account
        except (ObjectDoesNotExist, AttributeError):
            account = None
    if account is None:
        return describe("", None)
    return describe(account.billing_cycle, account.billing_day)
