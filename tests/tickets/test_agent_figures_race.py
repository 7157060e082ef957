"""The agent's stored figures under concurrent changes, on a real PostgreSQL server.

Several clerks change different tickets of ONE agent at the same moment (items, deposits,
status moves), each in its own connection. refresh_agent_figures locks the agent row
before its UPDATE, so each writer's UPDATE is a new statement that sees what the others
committed while it waited; without the lock an UPDATE that queued on the agent row keeps
the snapshot it started with and stores a figure without the other clerk's change.
"""

from decimal import Decimal

import pytest
from django.db import connection

from tests.concurrency import run_together
from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, agent_ticket
from tests.tickets.clerk_changes import clerk_changes
from tests.tickets.test_agent_figures import fresh, stored
from tickets.transitions import Kind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 25
D = Decimal


def test_concurrent_changes_to_one_agents_tickets_leave_its_figures_fresh():
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    location = LocationFactory(tax_rate_percent=D("0"))

    def ticket():
        return agent_ticket(
            agent,
            customer=customer,
            kind=Kind.QUICK_SALE,
            location=location,
            items=[("Part", 1, "10.00", False)],
        )

    for round_ in range(ROUNDS):
        outcomes = run_together(*clerk_changes(*(ticket() for _ in range(4))))
        assert all(kind == "ok" for kind, _ in outcomes), (round_, outcomes)
        assert stored(agent) == fresh(agent), round_
    # 4 tickets a round, one cancelled: 3 open, 15 + 6 + 10 due.
    assert stored(agent) == (D("31.00") * ROUNDS, 3 * ROUNDS)
    assert connection.vendor == "postgresql"
