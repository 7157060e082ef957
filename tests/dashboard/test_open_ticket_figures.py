"""The dashboard's open-ticket figures: one query, answered from the open-ticket index."""

from decimal import Decimal

import pytest
from django.db import connection

from core.roles import MANAGER
from dashboard import figures
from tests.conftest import ON_POSTGRES
from tests.factories import TicketFactory, UserFactory
from tickets.models import Ticket
from tickets.transitions import Kind, Status

pytestmark = pytest.mark.django_db


def vars_of(ticket: Ticket) -> dict:
    """The ticket's column values, without its id, to bulk-create copies."""
    return {
        field.attname: getattr(ticket, field.attname)
        for field in Ticket._meta.concrete_fields
        if not field.primary_key
    }


def _waiting(amount: str) -> Ticket:
    return TicketFactory(
        kind=Kind.QUICK_SALE,
        status=Status.WAITING_FOR_PAYMENT,
        items=[("Charger", 1, amount, False)],
    )


def test_open_tickets_counts_each_open_status_and_sums_what_waiting_ones_owe(
    django_assert_num_queries,
):
    TicketFactory(status=Status.IN_REPAIR)
    TicketFactory(status=Status.IN_REPAIR)
    TicketFactory(status=Status.CLOSED)
    TicketFactory(status=Status.CANCELLED)
    _waiting("40.00")
    _waiting("2.50")
    with django_assert_num_queries(1):
        found = figures.open_tickets()
    assert ("in_repair", "In Repair", 2) in found.by_status
    assert {status for status, _, _ in found.by_status} == {"in_repair", "waiting_for_payment"}
    assert (found.waiting_count, found.waiting_due) == (2, Decimal("42.50"))


def test_no_open_tickets_gives_zero_figures():
    TicketFactory(status=Status.CLOSED)
    found = figures.open_tickets()
    assert (found.by_status, found.waiting_count, found.waiting_due) == ([], 0, Decimal("0.00"))


def test_the_dashboard_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for _ in range(6):
        TicketFactory(status=Status.IN_REPAIR)
        _waiting("10.00")
    client.force_login(UserFactory(role=MANAGER))
    # user, permissions, open tickets, invoice figures, payers due (session: the cache)
    with django_assert_max_num_queries(5):
        assert client.get("/").status_code == 200


@pytest.mark.skipif(not ON_POSTGRES, reason="the index is PostgreSQL-only")
def test_the_open_ticket_figures_read_the_open_ticket_index():
    open_ticket = TicketFactory(status=Status.IN_REPAIR)
    # Mostly closed tickets, as in a shop: on a table of three rows every index costs the
    # same and the planner's pick is a coin toss.
    closed = [Ticket(**{**vars_of(open_ticket), "status": Status.CLOSED}) for _ in range(500)]
    Ticket.objects.bulk_create(closed)
    sql, params = figures.open_ticket_rows().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Index-only once VACUUM has marked the pages all-visible (a fresh test table is not).
    assert "ticket_open_status" in plan
