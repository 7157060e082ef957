"""The payer picker's search (core.combobox): billing agents and customers by token.

Two scopes: `billable` (the create page: any billing agent, active or not, and customers
with direct-billing terms, what invoice creation accepts) and `invoiced`
(the invoice list's filter: payers that have an account).
"""

from django.db.models.functions import Lower

from billing_agents.models import BillingAgent
from billing_agents.pickers import OPTION_FIELDS, agent_label
from core.combobox import Matches, Option, first_matches
from customers.models import Customer
from invoicing.accounts import payer_from_token

BILLABLE = "billable"
INVOICED = "invoiced"
SCOPES = frozenset({BILLABLE, INVOICED})


def _option(payer: BillingAgent | Customer) -> Option:
    if isinstance(payer, BillingAgent):
        return Option(f"agent-{payer.pk}", agent_label(payer), "Billing agent")
    return Option(f"customer-{payer.pk}", payer.display_name, "Customer")


def payer_matches(text: str, *, scope: str = BILLABLE) -> Matches:
    """At most core.combobox.LIMIT payers matching `text`: agents by company name, then
    customers by name (each sliced in SQL)."""
    agents = BillingAgent.objects.search(text).only(*OPTION_FIELDS)
    customers = Customer.objects.search(text).order_by(
        Lower("last_name"), Lower("first_name"), "id"
    )
    if scope == INVOICED:
        agents = agents.filter(account__isnull=False).order_by("company_name", "id")
        customers = customers.filter(account__isnull=False)
    else:
        # Active agents first: an inactive one can still be billed for its old tickets.
        agents = agents.order_by("-is_active", "company_name", "id")
        customers = customers.directly_billable()
    return first_matches([agents, customers], _option)


def billable_matches(text: str) -> Matches:
    return payer_matches(text, scope=BILLABLE)


def invoiced_matches(text: str) -> Matches:
    return payer_matches(text, scope=INVOICED)


def payer_text(value: object) -> str:
    """The picker's text for a payer token ("" when it names none): one row."""
    payer = payer_from_token(str(value or ""), billable_only=False)
    return _option(payer).label if payer is not None else ""
