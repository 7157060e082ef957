from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.models import Account, BillingCycle
from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, waiting_ticket


def with_cycle(payer, cycle=BillingCycle.WEEKLY, day=None, last_billed_on=None) -> Account:
    """The payer's account with this cycle; weekly on today's weekday unless told."""
    account = Account.objects.for_payer(payer)
    if day is None and cycle:
        today = timezone.localdate()
        day = min(today.day, 28) if cycle == BillingCycle.MONTHLY else today.weekday()
    account.billing_cycle, account.billing_day = cycle, (day if cycle else None)
    account.last_billed_on = last_billed_on
    account.save(update_fields=["billing_cycle", "billing_day", "last_billed_on"])
    return account


@pytest.fixture
def location(db):
    return LocationFactory(name="Downtown", tax_rate_percent=Decimal("0"))


def tickets_for(payer, location, *prices: str) -> list:
    """Untaxed Waiting-for-Payment tickets billed to the payer, one per price."""
    return [
        waiting_ticket(payer, location=location, items=[("Repair", 1, p, True)]) for p in prices
    ]


@pytest.fixture
def three_payers(db, location):
    """Three due payers, by name: Acme (batch, 2 tickets), Blue Co (one invoice per
    ticket, 2 tickets), and Dana Direct (a customer billed directly, per ticket, 1)."""
    acme = BillingAgentFactory(
        company_name="Acme Insurance", email="ap@acme.example", invoice_method="batch"
    )
    blue = BillingAgentFactory(
        company_name="Blue Co", email="billing@blue.example", invoice_method="individual"
    )
    dana = CustomerFactory(
        first_name="Dana",
        last_name="Direct",
        email="dana@mail.example",
        net_terms_days=15,
        prefers_batch_invoices=False,
    )
    accounts = {
        "acme": with_cycle(acme),
        "blue": with_cycle(blue, BillingCycle.BIWEEKLY),
        "dana": with_cycle(dana, BillingCycle.MONTHLY),
    }
    tickets = {
        "acme": tickets_for(acme, location, "100.00", "200.00"),
        "blue": tickets_for(blue, location, "50.00", "25.00"),
        "dana": tickets_for(dana, location, "80.00"),
    }
    return accounts, tickets
