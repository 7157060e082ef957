"""Concurrency on a real PostgreSQL server: separate connections, real row locks."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, connections

from invoicing import services
from invoicing.models import InvoiceLine, Remittance
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)
from tickets.models import PaymentKind, TicketPayment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 50


def _run_together(*calls):
    """Run each call in its own thread (own connection), started at the same moment."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            outcomes[index] = ("ok", call())
        except Exception as error:
            outcomes[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_clerks_invoicing_the_same_tickets_one_wins_every_time():
    clerks = [UserFactory(username="clerk-a"), UserFactory(username="clerk-b")]
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    location = LocationFactory()
    for round_ in range(ROUNDS):
        tickets = [waiting_ticket(agent, customer=customer, location=location) for _ in range(3)]
        ids = [t.pk for t in tickets]
        # The second clerk ticks the same tickets in another order.
        outcomes = _run_together(
            lambda ids=ids: services.create_invoices(
                payer=agent, ticket_ids=ids, batch=True, by=clerks[0]
            ),
            lambda ids=ids: services.create_invoices(
                payer=agent, ticket_ids=list(reversed(ids)), batch=False, by=clerks[1]
            ),
        )
        kinds = sorted(kind for kind, _ in outcomes)
        assert kinds == ["error", "ok"], (round_, outcomes)
        error = next(value for kind, value in outcomes if kind == "error")
        assert isinstance(error, services.TicketsAlreadyInvoiced), error
        assert set(error.numbers) == {t.number for t in tickets}
        for ticket in tickets:
            assert InvoiceLine.objects.filter(ticket=ticket, is_live=True).count() == 1
    assert connection.vendor == "postgresql"


def test_double_submitted_remittance_at_the_same_moment_records_one_payment():
    clerk = UserFactory(username="clerk-r")
    agent = BillingAgentFactory()
    tickets = [waiting_ticket(agent) for _ in range(2)]
    [invoice] = services.create_invoices(
        payer=agent, ticket_ids=[t.pk for t in tickets], batch=True, by=clerk
    )
    for _ in range(10):
        key = uuid.uuid4()

        def submit(key=key):
            return services.record_remittance(
                invoice=invoice,
                amount=Decimal("1.00"),
                method="cheque",
                idempotency_key=key,
                by=clerk,
            ).pk

        outcomes = _run_together(submit, submit)
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        assert outcomes[0][1] == outcomes[1][1]
        assert Remittance.objects.filter(idempotency_key=key).count() == 1
    assert TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).count() == 10
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("10.00")
