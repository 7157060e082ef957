"""The bookkeeping exports: the invoice list (its current filters) and the payments with
their allocations, as streamed CSV with formulas neutralised and a fixed query count."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.plans import PLAN_REQUIRED_MESSAGE
from invoicing import exports, services
from invoicing.accounts import account_for
from invoicing.models import Invoice, InvoiceStatus
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    agent_ticket,
    waiting_ticket,
)
from tickets.models import Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db

INVOICES_URL = reverse("invoicing:invoice_export")
PAYMENTS_URL = reverse("invoicing:payment_export")
LIST_URL = reverse("invoicing:invoice_list")


def read_csv(response) -> list[dict]:
    """The streamed body (consumed here, as a browser would) as dicts by header."""
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def header(response) -> list[str]:
    body = b"".join(response.streaming_content).decode()
    return next(csv.reader(io.StringIO(body)))


def invoice_for(agent, *references, items=None):
    tickets = [waiting_ticket(agent, payer_reference=ref, items=items) for ref in references]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=None
    )
    return invoice


@pytest.fixture
def insurer():
    return BillingAgentFactory(company_name="Harbor Insurance", reference_label="Claim #")


# --- invoices ------------------------------------------------------------------------------


def test_invoice_export_is_a_streamed_csv_attachment(billing_client, insurer):
    invoice_for(insurer, "CLM-1")

    response = billing_client.get(INVOICES_URL)

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate()
    assert response["Content-Disposition"] == f'attachment; filename="invoices-{today}.csv"'
    assert header(response) == exports.INVOICE_HEADER


def test_invoice_export_row_has_every_figure(billing_client, insurer):
    invoice = invoice_for(
        insurer,
        "CLM-1",
        "CLM-2",
        "CLM-1",
        items=[("Screen", 1, "100.00", False)],
    )
    services.record_remittance(invoice=invoice, amount=Decimal("120.00"), method="cheque", by=None)
    invoice.refresh_from_db()
    invoice.sent_at = timezone.make_aware(timezone.datetime(2025, 3, 4, 9, 30))
    invoice.save()

    [row] = read_csv(billing_client.get(INVOICES_URL))

    assert row == {
        "Invoice": invoice.number,
        "Issue date": f"{invoice.issue_date:%Y-%m-%d}",
        "Due date": f"{invoice.due_date:%Y-%m-%d}",
        "Payer": "Harbor Insurance",
        "Payer kind": "Billing agent",
        "Status": "Partially paid",
        "Total": "300.00",
        "Paid": "120.00",
        "Written off": "0.00",
        "Balance": "180.00",
        "Days past due": "0",
        # Distinct, in line order.
        "References": "CLM-1; CLM-2",
        "Sent at": "2025-03-04 09:30",
    }


def test_days_past_due_counts_for_open_invoices_only(billing_client, insurer):
    today = timezone.localdate()
    overdue = InvoiceFactory(
        billing_agent=insurer,
        issue_date=today - timedelta(days=40),
        due_date=today - timedelta(days=10),
    )
    paid = InvoiceFactory(
        billing_agent=insurer,
        issue_date=today - timedelta(days=40),
        due_date=today - timedelta(days=10),
        status=InvoiceStatus.PAID,
    )

    rows = {r["Invoice"]: r for r in read_csv(billing_client.get(INVOICES_URL, {"status": "all"}))}

    assert rows[overdue.number]["Days past due"] == "10"
    assert rows[overdue.number]["Status"] == "Overdue"
    assert rows[paid.number]["Days past due"] == ""
    assert rows[paid.number]["Status"] == "Paid"


def test_direct_customer_is_a_customer_payer(billing_client):
    customer = CustomerFactory(first_name="Dana", last_name="Direct", net_terms_days=15)
    invoice_for(customer, "")

    [row] = read_csv(billing_client.get(INVOICES_URL))

    assert row["Payer"] == "Dana Direct"
    assert row["Payer kind"] == "Customer"
    assert row["References"] == ""


def test_invoice_export_honours_the_list_filters(billing_client, insurer):
    other = BillingAgentFactory(company_name="Lakeside Schools")
    claim = invoice_for(insurer, "CLM-9")
    school = invoice_for(other, "PO-1")
    today = timezone.localdate()
    old = InvoiceFactory(
        billing_agent=insurer,
        issue_date=today - timedelta(days=90),
        due_date=today - timedelta(days=60),
    )

    def numbers(params):
        return [r["Invoice"] for r in read_csv(billing_client.get(INVOICES_URL, params))]

    assert set(numbers({})) == {claim.number, school.number, old.number}
    assert numbers({"q": "clm-9"}) == [claim.number]
    assert set(numbers({"payer": f"agent-{insurer.pk}"})) == {claim.number, old.number}
    assert numbers({"overdue": "on"}) == [old.number]
    assert numbers({"due_to": f"{today - timedelta(days=30):%Y-%m-%d}"}) == [old.number]
    assert numbers({"status": "overdue"}) == [old.number]


def test_invoice_export_is_what_the_list_shows_over_every_page(billing_client, insurer):
    for _ in range(30):
        InvoiceFactory(billing_agent=insurer)
    deleted = InvoiceFactory(
        billing_agent=insurer, status=InvoiceStatus.DELETED, deleted_at=timezone.now()
    )

    listed = billing_client.get(LIST_URL).context["page"].paginator.object_list
    exported = [r["Invoice"] for r in read_csv(billing_client.get(INVOICES_URL))]

    assert exported == [invoice.number for invoice in listed]
    assert len(exported) == 30
    assert deleted.number not in exported


def test_invalid_filter_exports_nothing_and_shows_the_message(billing_client, insurer):
    invoice_for(insurer, "CLM-1")

    response = billing_client.get(INVOICES_URL, {"due_from": "2024-02-30"})

    assert response.status_code == 422
    assert not isinstance(response, StreamingHttpResponse)
    assert "Enter a valid date." in response.content.decode()


def test_list_links_to_the_export_with_its_filters(billing_client, insurer, htmx_headers):
    invoice_for(insurer, "CLM-1")
    params = {"q": "CLM", "status": "open", "page": "1"}

    for headers in ({}, htmx_headers):
        html = billing_client.get(LIST_URL, params, headers=headers).content.decode()
        assert f'href="{INVOICES_URL}?q=CLM&amp;status=open"' in html


def test_list_with_an_invalid_filter_offers_no_export(billing_client):
    html = billing_client.get(LIST_URL, {"due_from": "2024-02-30"}).content.decode()

    assert "data-invoice-export" not in html


def test_formulas_are_neutralised(billing_client):
    agent = BillingAgentFactory(company_name='=HYPERLINK("http://evil.example","Click")')
    invoice_for(agent, "+SUM(A1:A9)", "@cmd")

    [row] = read_csv(billing_client.get(INVOICES_URL))

    assert row["Payer"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["References"] == "'+SUM(A1:A9); @cmd"


def _count_export_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
        rows = read_csv(response)
    assert rows
    assert queries.captured_queries
    return len(queries.captured_queries)


def test_invoice_export_query_count_does_not_grow_with_the_rows(billing_client, insurer):
    def add(count):
        for n in range(count):
            line = InvoiceLineFactory(
                invoice=InvoiceFactory(billing_agent=insurer),
                ticket=agent_ticket(insurer, status=Status.INVOICED),
                reference=f"CLM-{n}",
            )
            InvoiceFactory(customer=CustomerFactory(net_terms_days=15))
            InvoiceLineFactory(
                invoice=line.invoice, ticket=agent_ticket(insurer, status=Status.INVOICED)
            )

    add(5)
    _count_export_queries(billing_client, INVOICES_URL)  # permissions cached from here on
    five = _count_export_queries(billing_client, INVOICES_URL)
    add(45)
    fifty = _count_export_queries(billing_client, INVOICES_URL)

    assert fifty == five


def test_invoice_rows_read_a_chunk_at_a_time(insurer, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(exports, "FIRST_CHUNK", 1)
    monkeypatch.setattr(exports, "CHUNK", 2)
    for _ in range(6):
        InvoiceFactory(billing_agent=insurer)
    rows = exports.invoice_rows(Invoice.objects.for_list(), today=timezone.localdate())
    # One query for the invoices, one for the references of each chunk: 1, 2, 2 and 1.
    with django_assert_num_queries(5):
        assert len(list(rows)) == 6


# --- payments ------------------------------------------------------------------------------


def test_payment_export_has_a_row_per_allocation_and_one_for_the_credit(billing_client, insurer):
    first = invoice_for(insurer, "CLM-1", items=[("Screen", 1, "100.00", False)])
    second = invoice_for(insurer, "CLM-2", "CLM-3", items=[("Battery", 1, "50.00", False)])
    # One cheque on the account pays both invoices (three tickets) and leaves 30 of credit.
    payment = services.record_account_payment(
        account=account_for(insurer),
        amount=Decimal("230.00"),
        method="cheque",
        reference="CHQ 1001",
        received_on=timezone.localdate(),
        by=None,
    )

    response = billing_client.get(PAYMENTS_URL)
    assert response["Content-Disposition"] == 'attachment; filename="payments.csv"'
    rows = read_csv(response)

    assert [(r["Invoice"], r["Ticket"], r["Allocated"]) for r in rows] == [
        *[(first.number, line.ticket.number, "100.00") for line in first.lines.all()],
        *[(second.number, line.ticket.number, "50.00") for line in second.lines.all()],
        ("", "", "30.00"),
    ]
    for row in rows:
        assert row["Payment"] == str(payment.pk)
        assert row["Received on"] == f"{timezone.localdate():%Y-%m-%d}"
        assert row["Payer"] == "Harbor Insurance"
        assert row["Payer kind"] == "Billing agent"
        assert row["Method"] == "Cheque"
        assert row["Reference"] == "CHQ 1001"
        assert row["Payment amount"] == "230.00"
        assert row["Voided at"] == ""


def test_payment_export_header_and_voided_payment(billing_client, insurer, manager_user):
    invoice = invoice_for(insurer, "CLM-1", items=[("Screen", 1, "100.00", False)])
    payment = services.record_remittance(
        invoice=invoice, amount=Decimal("40.00"), method="ach", reference="ACH-7", by=None
    )
    services.void_remittance(remittance=payment, reason="Bounced", by=manager_user)
    payment.refresh_from_db()

    response = billing_client.get(PAYMENTS_URL)
    assert header(response) == exports.PAYMENT_HEADER
    [row] = read_csv(billing_client.get(PAYMENTS_URL))

    assert row["Method"] == "ACH"
    assert row["Invoice"] == invoice.number
    assert row["Allocated"] == "40.00"
    assert row["Voided at"] == f"{timezone.localtime(payment.voided_at):%Y-%m-%d %H:%M}"


def test_payment_export_filters_by_received_date(billing_client, insurer):
    today = timezone.localdate()
    ticket = waiting_ticket(insurer, items=[("Screen", 1, "300.00", False)])
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=30))
    [invoice] = services.create_invoices(
        account=account_for(insurer),
        ticket_ids=[ticket.pk],
        batch=True,
        issue_date=today - timedelta(days=20),
        by=None,
    )
    for days_ago in (10, 5, 0):
        services.record_remittance(
            invoice=invoice,
            amount=Decimal("10.00"),
            method="cheque",
            reference=f"CHQ-{days_ago}",
            received_on=today - timedelta(days=days_ago),
            by=None,
        )
    start, end = today - timedelta(days=6), today - timedelta(days=1)

    response = billing_client.get(
        PAYMENTS_URL, {"received_from": f"{start:%Y-%m-%d}", "received_to": f"{end:%Y-%m-%d}"}
    )

    assert response["Content-Disposition"] == (
        f'attachment; filename="payments-from-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.csv"'
    )
    assert [r["Reference"] for r in read_csv(response)] == ["CHQ-5"]
    only_from = billing_client.get(PAYMENTS_URL, {"received_from": f"{start:%Y-%m-%d}"})
    assert [r["Reference"] for r in read_csv(only_from)] == ["CHQ-5", "CHQ-0"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"received_from": "2025-13-01"}, "received_from", "Enter a valid date."),
        ({"received_to": "\uff11\uff12"}, "received_to", "Enter a valid date."),
        ({"received_from": "1999-12-31"}, "received_from", "Enter a date between"),
        (
            {"received_from": "2025-02-01", "received_to": "2025-01-01"},
            "received_to",
            "The end date is before the start date.",
        ),
    ],
)
def test_bad_dates_export_nothing_and_say_why_beside_the_field(
    billing_client, params, field, message
):
    response = billing_client.get(PAYMENTS_URL, params)

    assert response.status_code == 422
    assert not isinstance(response, StreamingHttpResponse)
    form = response.context["payment_export_form"]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert "Nothing was exported" in html


def test_payment_export_neutralises_formulas(billing_client):
    agent = BillingAgentFactory(company_name="@SUM(1+1)")
    invoice = invoice_for(agent, "", items=[("Screen", 1, "100.00", False)])
    services.record_remittance(
        invoice=invoice, amount=Decimal("10.00"), method="cheque", reference="=1+1", by=None
    )

    [row] = read_csv(billing_client.get(PAYMENTS_URL))

    assert row["Payer"] == "'@SUM(1+1)"
    assert row["Reference"] == "'=1+1"


def test_payment_export_query_count_does_not_grow_with_the_rows(billing_client, insurer):
    def add(count):
        for _ in range(count):
            for payer in (insurer, CustomerFactory(net_terms_days=15)):
                invoice = invoice_for(payer, "", items=[("Screen", 1, "100.00", False)])
                services.record_remittance(
                    invoice=invoice, amount=Decimal("120.00"), method="cheque", by=None
                )

    add(2)
    _count_export_queries(billing_client, PAYMENTS_URL)  # permissions cached from here on
    few = _count_export_queries(billing_client, PAYMENTS_URL)
    add(8)
    many = _count_export_queries(billing_client, PAYMENTS_URL)

    assert many == few


def test_invoice_list_offers_the_payments_export(billing_client):
    html = billing_client.get(LIST_URL).content.decode()

    assert f'action="{PAYMENTS_URL}"' in html
    assert 'name="received_from"' in html and 'name="received_to"' in html


# --- who may export ---------------------------------------------------------------------------


def test_front_desk_may_not_export(front_desk_client):
    assert front_desk_client.get(INVOICES_URL).status_code == 403
    assert front_desk_client.get(PAYMENTS_URL).status_code == 403


def test_manager_may_export(manager_client):
    assert manager_client.get(INVOICES_URL).status_code == 200
    assert manager_client.get(PAYMENTS_URL).status_code == 200


def test_exports_are_billing_features(manager_client, settings):
    settings.SHOP_PLAN = "essentials"

    for url in (INVOICES_URL, PAYMENTS_URL):
        response = manager_client.get(url)
        assert response.status_code == 403
        assert PLAN_REQUIRED_MESSAGE in response.content.decode()


def test_exports_refuse_post(billing_client):
    assert billing_client.post(INVOICES_URL).status_code == 405
    assert billing_client.post(PAYMENTS_URL).status_code == 405
