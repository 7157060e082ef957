from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing import services
from invoicing.models import Invoice, InvoiceLine, Remittance, invoiceable_tickets
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    LocationFactory,
    waiting_ticket,
)
from tickets.transitions import Status

D = Decimal
pytestmark = pytest.mark.django_db


def _status_of(**fields):
    today = timezone.localdate()
    invoice = InvoiceFactory(
        issue_date=today - timedelta(days=10), due_date=today + timedelta(days=5), **fields
    )
    return invoice.display_status


def test_display_status_covers_every_state():
    today = timezone.localdate()
    assert _status_of(total=D("10")) == "open"
    assert _status_of(total=D("10"), amount_paid=D("4")) == "partially paid"
    assert _status_of(total=D("10"), amount_paid=D("10"), status="paid") == "paid"
    assert _status_of(status="deleted", deleted_at=timezone.now()) == "deleted"
    overdue = InvoiceFactory(
        total=D("10"), issue_date=today - timedelta(days=40), due_date=today - timedelta(days=1)
    )
    assert overdue.display_status == "overdue"


@pytest.mark.parametrize("status", ["open", "partially_paid", "overdue", "paid", "deleted"])
def test_status_filter_matches_display_status(status):
    today = timezone.localdate()
    made = [
        InvoiceFactory(total=D("10")),
        InvoiceFactory(total=D("10"), amount_paid=D("3")),
        InvoiceFactory(
            total=D("10"), issue_date=today - timedelta(days=40), due_date=today - timedelta(days=1)
        ),
        InvoiceFactory(total=D("10"), amount_paid=D("10"), status="paid"),
        InvoiceFactory(total=D("10"), status="deleted", deleted_at=timezone.now()),
    ]
    found = set(Invoice.objects.with_display_status(status))
    assert found == {i for i in made if i.display_status == status.replace("_", " ")}
    assert len(found) == 1


def test_search_by_number_and_payer():
    agent = BillingAgentFactory(company_name="Greenfield University", email="ap@green.example")
    customer = CustomerFactory(
        first_name="Priya", last_name="Patel", email="priya@mail.example", net_terms_days=30
    )
    by_agent = InvoiceFactory(billing_agent=agent)
    by_customer = InvoiceFactory(billing_agent=None, customer=customer)
    assert list(Invoice.objects.search("greenfield")) == [by_agent]
    assert list(Invoice.objects.search("patel")) == [by_customer]
    assert list(Invoice.objects.search(by_customer.number)) == [by_customer]
    assert list(Invoice.objects.search(str(by_agent.pk))) == [by_agent]
    assert set(Invoice.objects.search("  ")) == {by_agent, by_customer}


def test_invoiceable_tickets_for_an_agent_and_a_direct_customer(billing_user):
    agent = BillingAgentFactory()
    customer = CustomerFactory(net_terms_days=30)
    agents_ticket = waiting_ticket(agent, customer=customer)
    own_ticket = waiting_ticket(customer)
    paid_up = waiting_ticket(customer, items=[("Case", 1, "5.00", False)], deposits=["5.00"])
    on_invoice = waiting_ticket(customer)
    services.create_invoices(
        payer=customer, ticket_ids=[on_invoice.pk], batch=True, by=billing_user
    )

    assert list(invoiceable_tickets().invoiceable().for_payer(agent)) == [agents_ticket]
    assert list(invoiceable_tickets().invoiceable().for_payer(customer)) == [own_ticket]
    assert paid_up.status == Status.WAITING_FOR_PAYMENT


def test_invoiceable_tickets_filters_by_location_and_dates():
    agent = BillingAgentFactory()
    north, south = LocationFactory(name="N"), LocationFactory(name="S")
    a = waiting_ticket(agent, location=north)
    b = waiting_ticket(agent, location=south)
    qs = invoiceable_tickets().invoiceable().for_payer(agent)
    assert list(qs.at_location(north.pk)) == [a]
    assert set(qs.at_location(None)) == {a, b}
    today = timezone.localdate()
    assert set(qs.dated_between("created", today, today)) == {a, b}
    assert list(qs.dated_between("updated", today + timedelta(days=1))) == []


def test_database_refuses_a_ticket_on_two_live_invoices():
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))


def test_a_dead_line_does_not_block_a_new_live_one():
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    InvoiceLineFactory(ticket=ticket, is_live=False, invoice=InvoiceFactory(billing_agent=agent))
    InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))
    assert InvoiceLine.objects.filter(ticket=ticket).count() == 2


def test_idempotency_key_is_unique(billing_user):
    agent = BillingAgentFactory()
    invoice = InvoiceFactory(billing_agent=agent, total=D("10"))
    first = Remittance.objects.create(
        invoice=invoice, billing_agent=agent, amount=D("1"), method="cash"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Remittance.objects.create(
            invoice=invoice,
            billing_agent=agent,
            amount=D("1"),
            method="cash",
            idempotency_key=first.idempotency_key,
        )
