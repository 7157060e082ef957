"""Deposit refunds on a real PostgreSQL server: separate connections, real row locks.

The harness (tests/invoicing/test_races.py) holds the first refund right after it locked
the ticket row and lets the second run until it waits on that lock. With the lock the
second refund reads what the first left and is refused; without it both would pay back
the same deposit.
"""

from decimal import Decimal

import pytest

from tests.factories import LocationFactory, TicketFactory, UserFactory
from tests.invoicing.test_races import LOCK_ROUNDS, _locks_tickets, _second_inside_first
from tickets import services
from tickets.models import PaymentKind, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_refunds_of_one_deposit_at_the_same_moment_pay_it_back_once():
    clerks = [UserFactory(username="refund-a"), UserFactory(username="refund-b")]
    location = LocationFactory(name="Refund store", tax_rate_percent=Decimal("0"))
    for round_ in range(LOCK_ROUNDS):
        ticket = TicketFactory(
            location=location, items=[("Screen", 1, "80.00", False)], deposits=["30.00"]
        )

        def refund(clerk, ticket=ticket):
            return services.refund_deposit(
                ticket=Ticket.objects.get(pk=ticket.pk),
                amount=Decimal("30.00"),
                method="cash",
                reason="Repair not possible",
                by=clerk,
            )

        outcomes = _second_inside_first(
            lambda: refund(clerks[0]), lambda: refund(clerks[1]), after=_locks_tickets
        )
        assert outcomes[0][0] == "ok", (round_, outcomes)
        assert outcomes[1][0] == "error", (round_, outcomes)
        assert isinstance(outcomes[1][1], services.InvalidRefund), (round_, outcomes[1][1])
        ticket.refresh_from_db()
        assert ticket.payments.filter(kind=PaymentKind.REFUND).count() == 1
        assert (ticket.amount_paid, ticket.balance_due) == (Decimal("0.00"), Decimal("80.00"))
        fresh = ticket.fresh_totals()
        assert (fresh.amount_paid, fresh.balance_due) == (ticket.amount_paid, ticket.balance_due)
