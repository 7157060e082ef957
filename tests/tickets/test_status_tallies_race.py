"""The status tallies under concurrent writers and folds, on a real PostgreSQL server.

Clerks change tickets (items, deposits, status moves) while two readers fold the ledger
over and over, each in its own connection. A fold inserts the sums of exactly the rows
its own DELETE ... RETURNING removed, so a delta is folded once: a concurrent fold waits
on the rows' locks and then finds them gone, and a writer's uncommitted delta is not seen.
Summing a separate SELECT instead counts rows twice when two folds overlap, or loses a
delta committed between the SELECT and the DELETE. A rebuild (check_agent_figures --fix)
locks the table against inserts before it computes the sums afresh.
"""

from decimal import Decimal

import pytest
from django.db import connection

from tests.concurrency import run_together
from tests.factories import CustomerFactory, LocationFactory, TicketFactory
from tests.tickets.clerk_changes import clerk_changes
from tests.tickets.test_status_tallies import fresh, tallied
from tickets import services
from tickets.tallies import fold_status_tallies, rebuild_status_tallies
from tickets.transitions import Kind, Status

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 20
FOLDS = 15
D = Decimal


def test_folds_racing_writers_never_lose_or_double_count_a_delta():
    location = LocationFactory(tax_rate_percent=D("0"))
    customer = CustomerFactory()

    def ticket():
        return TicketFactory(
            kind=Kind.QUICK_SALE,
            customer=customer,
            location=location,
            items=[("Part", 1, "10.00", False)],
        )

    def folder():
        return sum(fold_status_tallies() for _ in range(FOLDS))

    folded = 0
    for round_ in range(ROUNDS):
        outcomes = run_together(*clerk_changes(*(ticket() for _ in range(4))), folder, folder)
        assert all(kind == "ok" for kind, _ in outcomes), (round_, outcomes)
        folded += outcomes[-1][1] + outcomes[-2][1]
        assert tallied() == fresh(), round_
    # 4 tickets a round, one cancelled: 2 open (15 + 6 due), 1 waiting (10 due).
    assert tallied() == {
        Status.OPEN: (2 * ROUNDS, D("21.00") * ROUNDS),
        Status.WAITING_FOR_PAYMENT: (ROUNDS, D("10.00") * ROUNDS),
    }
    assert folded > 0
    assert connection.vendor == "postgresql"


def test_a_rebuild_racing_writers_keeps_every_delta():
    location = LocationFactory(tax_rate_percent=D("0"))

    def rebuilder():
        for _ in range(FOLDS):
            rebuild_status_tallies()

    for round_ in range(ROUNDS):
        tickets = [
            TicketFactory(kind=Kind.QUICK_SALE, location=location, items=[("Part", 1, "10", False)])
            for _ in range(3)
        ]
        outcomes = run_together(
            *(
                lambda ticket=ticket: services.add_item(
                    ticket=ticket, description="Extra", quantity=D("1"), unit_price=D("5"), by=None
                )
                for ticket in tickets
            ),
            rebuilder,
        )
        assert all(kind == "ok" for kind, _ in outcomes), (round_, outcomes)
        assert tallied() == fresh(), round_
    assert tallied() == {Status.OPEN: (3 * ROUNDS, D("15.00") * 3 * ROUNDS)}
