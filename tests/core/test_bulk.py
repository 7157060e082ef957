"""core.bulk.update_rows writes exactly what bulk_update writes, in one statement per
500 rows on PostgreSQL (the set-based write the remittance of a 500-line invoice uses)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bulk import update_rows
from tests.factories import TicketFactory
from tickets.models import Ticket
from tickets.totals import TOTAL_FIELDS

pytestmark = pytest.mark.django_db

FIELDS = [*TOTAL_FIELDS, "updated_at"]
CENT = Decimal("0.01")
MONEY = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
SHARE = st.integers(0, 100).map(lambda n: Decimal(n) / 100)


@st.composite
def figures_of_a_ticket(draw) -> tuple[Decimal, ...]:
    """Stored figures a ticket can hold (TOTAL_FIELDS order), within its constraints."""
    subtotal = draw(MONEY)
    discount = (subtotal * draw(SHARE)).quantize(CENT)
    tax = ((subtotal - discount) * draw(SHARE) / 10).quantize(CENT)
    total = subtotal - discount + tax
    paid = (total * draw(SHARE)).quantize(CENT)
    return subtotal, discount, tax, total, paid, total - paid


def _row(ticket: Ticket) -> dict:
    return {name: getattr(ticket, name) for name in ["id", *FIELDS, "device", "status"]}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(figures=st.lists(figures_of_a_ticket(), min_size=1, max_size=6))
def test_update_rows_leaves_the_same_rows_as_bulk_update(figures):
    tickets = [TicketFactory(device=f"Device {n}") for n in range(len(figures) * 2)]
    mine, theirs = tickets[: len(figures)], tickets[len(figures) :]
    now = timezone.now()
    for group in (mine, theirs):
        for ticket, values in zip(group, figures, strict=True):
            for name, value in zip(TOTAL_FIELDS, values, strict=True):
                setattr(ticket, name, value)
            ticket.updated_at = now
            ticket.device = "not written"  # a field not listed stays as stored
    update_rows(mine, FIELDS)
    Ticket.objects.bulk_update(theirs, FIELDS)
    stored = {t.pk: _row(t) for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    for a, b in zip(mine, theirs, strict=True):
        left, right = dict(stored[a.pk]), dict(stored[b.pk])
        assert left.pop("id") != right.pop("id")
        assert left.pop("device") != right.pop("device")
        assert left == right
    # A field not listed stays as stored.
    assert sorted(row["device"] for row in stored.values()) == sorted(
        f"Device {n}" for n in range(len(tickets))
    )


@pytest.mark.postgres
def test_one_statement_per_500_rows_on_postgresql():
    tickets = [TicketFactory() for _ in range(3)]
    for ticket in tickets:
        ticket.subtotal = Decimal("12.34")
    with CaptureQueriesContext(connection) as queries:
        update_rows(tickets * 2, ["subtotal"])  # a ticket given twice is written once
    assert len(queries) == 1 and "FROM (VALUES" in queries[0]["sql"]
    assert set(Ticket.objects.values_list("subtotal", flat=True)) == {Decimal("12.34")}
