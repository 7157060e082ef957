"""The dashboard's open-ticket figures: one query over the status tallies (StatusTally),
whatever the number of tickets; the tallies themselves: tests/tickets/test_status_tallies.py."""

from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from core.roles import MANAGER
from dashboard import figures
from tests.conftest import ON_POSTGRES
from tests.factories import CustomerFactory, LocationFactory, TicketFactory, UserFactory
from tickets import services
from tickets.models import StatusTally, Ticket, fresh_status_tallies
from tickets.tallies import FOLD_ABOVE
from tickets.transitions import Kind, Status

D = Decimal
ZERO = D("0.00")

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
def test_the_fresh_status_tallies_read_the_open_ticket_index():
    """check_agent_figures computes them fresh over every open ticket: index-only there."""
    open_ticket = TicketFactory(status=Status.IN_REPAIR)
    # Mostly closed tickets, as in a shop: on a table of three rows every index costs the
    # same and the planner's pick is a coin toss.
    closed = [Ticket(**{**vars_of(open_ticket), "status": Status.CLOSED}) for _ in range(500)]
    Ticket.objects.bulk_create(closed)
    sql, params = fresh_status_tallies().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Index-only once VACUUM has marked the pages all-visible (a fresh test table is not).
    assert "ticket_open_status" in plan


def _quick_sale(location, clerk, price, customer=None) -> Ticket:
    ticket = services.create_ticket(
        kind=Kind.QUICK_SALE, location=location, customer=customer, by=clerk
    )
    services.add_item(
        ticket=ticket, description="Cable", quantity=D("1"), unit_price=D(price), by=clerk
    )
    return ticket


@pytest.fixture
def clerk():
    return UserFactory(username="dashboard-clerk", role=MANAGER)


@pytest.fixture
def location():
    return LocationFactory(name="Dashboard store", tax_rate_percent=D("0"))


def test_the_dashboard_shows_the_tallies_after_changes(manager_client, location, clerk):
    customer = CustomerFactory()
    waiting = _quick_sale(location, clerk, "40.00", customer=customer)
    services.move_ticket(ticket=waiting, target=Status.WAITING_FOR_PAYMENT, by=clerk)
    _quick_sale(location, clerk, "5.00")
    services.create_ticket(kind=Kind.REPAIR, location=location, by=clerk)
    response = manager_client.get(reverse("dashboard:dashboard"))
    assert response.context["by_status"] == [
        ("new", "New", 1),
        ("open", "Open", 1),
        ("waiting_for_payment", "Waiting for Payment", 1),
    ]
    assert (response.context["wfp_count"], response.context["wfp_due"]) == (1, D("40.00"))


def test_the_dashboard_reads_the_ledger_not_the_tickets(manager_client, location, clerk):
    _quick_sale(location, clerk, "5.00")
    # Wrong on purpose: the page shows what the ledger holds.
    StatusTally.objects.create(status=Status.ON_HOLD, tickets=41, balance_due=ZERO)
    StatusTally.objects.create(
        status=Status.WAITING_FOR_PAYMENT, tickets=3, balance_due=D("1234.50")
    )
    response = manager_client.get(reverse("dashboard:dashboard"))
    assert ("on_hold", "On Hold", 41) in response.context["by_status"]
    page = response.content.decode()
    assert "3 tickets" in page and "$1,234.50 due" in page


def test_the_dashboard_leaves_out_a_status_whose_count_is_back_to_zero(
    manager_client, location, clerk
):
    ticket = _quick_sale(location, clerk, "20.00")
    services.move_ticket(ticket=ticket, target=Status.CANCELLED, by=clerk)
    response = manager_client.get(reverse("dashboard:dashboard"))
    assert response.context["by_status"] == []
    assert "No open tickets." in response.content.decode()


def _ledger_rows(n: int) -> None:
    StatusTally.objects.bulk_create(
        StatusTally(status=Status.NEW, tickets=1, balance_due=D("1.00")) for _ in range(n)
    )


def test_the_dashboard_folds_a_ledger_longer_than_fold_above(manager_client):
    _ledger_rows(FOLD_ABOVE + 1)
    response = manager_client.get(reverse("dashboard:dashboard"))
    assert ("new", "New", FOLD_ABOVE + 1) in response.context["by_status"]
    assert list(StatusTally.objects.values_list("status", "tickets", "balance_due")) == [
        (Status.NEW, FOLD_ABOVE + 1, D(FOLD_ABOVE + 1).quantize(D("0.01")))
    ]


def test_the_dashboard_leaves_a_short_ledger_alone(manager_client):
    _ledger_rows(FOLD_ABOVE)
    manager_client.get(reverse("dashboard:dashboard"))
    assert StatusTally.objects.count() == FOLD_ABOVE


def test_the_dashboard_query_count_does_not_grow_with_the_ledger(
    manager_client, django_assert_max_num_queries
):
    _ledger_rows(FOLD_ABOVE)
    # user, permissions, tallies, invoice figures, payers due (session: the cache)
    with django_assert_max_num_queries(5):
        assert manager_client.get(reverse("dashboard:dashboard")).status_code == 200


def test_the_open_ticket_figures_read_no_ticket_row(django_assert_num_queries):
    _waiting("10.00")
    with django_assert_num_queries(1) as captured:
        found = figures.open_tickets()
    assert (found.waiting_count, found.waiting_due) == (1, D("10.00"))
    [query] = captured.captured_queries
    assert Ticket._meta.db_table not in query["sql"]
    assert StatusTally._meta.db_table in query["sql"]
