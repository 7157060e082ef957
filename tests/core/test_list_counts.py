"""The ticket and invoice lists count what the page shows: PostgreSQL's estimate for an
unfiltered big table ("about 250,000"), a capped count once a filter narrows the list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import paging
from tests.factories import BillingAgentFactory, InvoiceFactory, TicketFactory

pytestmark = pytest.mark.django_db


def _counts(queries, table: str) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"] and table in q["sql"]
    ]


def test_an_unfiltered_ticket_list_of_a_huge_table_shows_about_and_counts_nothing(
    front_desk_client, monkeypatch
):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 250_123)
    TicketFactory()
    with CaptureQueriesContext(connection) as queries:
        response = front_desk_client.get("/tickets/")
    body = response.content.decode()
    assert "of about 250,000 tickets" in body
    assert "Page 1 of about 10,005" in body
    assert not _counts(queries, "tickets_ticket")


def test_a_filtered_ticket_list_counts_up_to_the_cap_only(front_desk_client, monkeypatch):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 250_123)
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    for _ in range(5):
        TicketFactory()
    response = front_desk_client.get("/tickets/", {"kind": "repair"})
    assert "of more than 3 tickets" in response.content.decode()


def test_a_small_ticket_list_counts_exactly(front_desk_client):
    for _ in range(3):
        TicketFactory()
    response = front_desk_client.get("/tickets/")
    assert "of 3 tickets" in response.content.decode()


def test_an_empty_filter_field_leaves_the_list_unfiltered(front_desk_client, monkeypatch):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 250_123)
    response = front_desk_client.get("/tickets/", {"q": "", "status": "", "page": "2"})
    assert "about 250,000 tickets" in response.content.decode()


def test_the_ticket_list_partial_shows_the_estimate_too(
    front_desk_client, htmx_headers, monkeypatch
):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 250_123)
    response = front_desk_client.get("/tickets/", headers=htmx_headers)
    assert "of about 250,000 tickets" in response.content.decode()


def test_an_unfiltered_invoice_list_of_a_huge_table_pages_by_the_estimate(
    billing_client, monkeypatch
):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 50_123)
    InvoiceFactory(billing_agent=BillingAgentFactory())
    with CaptureQueriesContext(connection) as queries:
        response = billing_client.get("/invoices/")
    assert "Page 1 of about 2,005" in response.content.decode()
    assert not _counts(queries, "invoicing_invoice")


def test_a_filtered_invoice_list_is_counted_not_estimated(billing_client, monkeypatch):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 50_123)
    InvoiceFactory(billing_agent=BillingAgentFactory())
    response = billing_client.get("/invoices/", {"status": "all"})
    body = response.content.decode()
    assert "about" not in body.split('id="invoice-table"')[1].split("</table>")[0]
    assert "Page 1 of" not in body  # one invoice: one page, no pager
