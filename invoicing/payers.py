"""The payer of an invoice: a billing agent, or a customer with direct-billing terms.

Pages carry a payer as a token ("agent-12", "customer-34") so one field can hold either.
"""

from django.db.models import Q

from billing_agents.models import BillingAgent, InvoiceMethod
from core.inputs import parse_token
from customers.models import Customer

Payer = BillingAgent | Customer


def payer_token(payer: Payer) -> str:
    kind = "agent" if isinstance(payer, BillingAgent) else "customer"
    return f"{kind}-{payer.pk}"


def payer_from_token(token: str | None, *, billable_only: bool = True) -> Payer | None:
    """The agent or customer a token names; None when it names nothing (usable)."""
    parsed = parse_token(token, ("agent", "customer"))
    if parsed is None:
        return None
    kind, pk = parsed
    if kind == "agent":
        return BillingAgent.objects.filter(pk=pk).first()
    customers = Customer.objects.directly_billable() if billable_only else Customer.objects
    return customers.filter(pk=pk).first()


def payer_fields(payer: Payer) -> dict:
    """Keyword arguments for the payer columns of Invoice, Remittance and the ledger."""
    if isinstance(payer, BillingAgent):
        return {"billing_agent": payer}
    return {"customer": payer}


def payer_name(payer: Payer) -> str:
    return payer.company_name if isinstance(payer, BillingAgent) else payer.display_name


def net_terms_days(payer: Payer) -> int | None:
    return payer.net_terms_days


def prefers_batch(payer: Payer) -> bool:
    if isinstance(payer, BillingAgent):
        return payer.invoice_method == InvoiceMethod.BATCH
    return payer.prefers_batch_invoices


def search_payers(text: str, *, limit: int = 15) -> list[Payer]:
    """Billing agents (active or not) and directly billable customers matching the text."""
    text = text.strip()
    agents = BillingAgent.objects.all()
    customers = Customer.objects.directly_billable()
    if text:
        agents = agents.filter(
            Q(company_name__icontains=text)
            | Q(contact_first_name__icontains=text)
            | Q(contact_last_name__icontains=text)
            | Q(email__icontains=text)
            | Q(phone__icontains=text)
        )
        customers = customers.filter(
            Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
            | Q(company_name__icontains=text)
            | Q(email__icontains=text)
            | Q(phone__icontains=text)
        )
    return [*agents.order_by("-is_active", "company_name")[:limit], *customers[:limit]]
