"""Finding a payer's receivables account from what pages carry.

Pages name a payer by token ("agent-12", "customer-34") so one field can hold either; the
account behind it (invoicing.models.Account) answers everything else about the payer.
"""

from billing_agents.models import BillingAgent
from core.inputs import parse_token
from customers.models import Customer
from invoicing.models import Account

Payer = BillingAgent | Customer


def account_for(payer: Payer) -> Account:
    """The payer's account, created (under a lock on the payer) the first time."""
    return Account.objects.for_payer(payer)


def account_of(payer: Payer) -> Account:
    """The payer's account, unsaved when it has never been needed (showing a payer creates
    nothing), with the payer already attached (no second query for it)."""
    field = Account.payer_field(payer)
    account = Account.objects.filter(**{field: payer}).first() or Account.of(payer)
    setattr(account, field, payer)
    return account


def customer_receivables(customer: Customer) -> Account | None:
    """The account behind a customer's receivables pages (payments, statement): its
    account if it was ever billed directly (its history stays), an unsaved one if it has
    direct-billing terms, None for a customer only ever billed through an agent."""
    account = account_of(customer)
    if account.pk is None and customer.net_terms_days is None:
        return None
    return account


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


def account_from_token(token: str | None, *, billable_only: bool = True) -> Account | None:
    """The account of the payer a token names, unsaved when it has never been needed
    (showing a payer creates nothing); None when the token names no usable payer."""
    payer = payer_from_token(token, billable_only=billable_only)
    if payer is None:
        return None
    return account_of(payer)
