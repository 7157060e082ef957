"""The itemized invoice document (invoicing/documents.py): the invoice page, the print
page, its PDF and the email show each ticket's snapshot, never the live ticket."""

import gc
import io
from decimal import Decimal

import pypdf
import pytest
from django.core import mail
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import pdf
from core.models import Letterhead
from core.pdf import BASE_URL, StaticFilesFetcher, static_file
from core.plans import PLAN_REQUIRED_MESSAGE
from invoicing import services
from invoicing.accounts import account_for
from invoicing.documents import invoice_document, invoice_pdf, percent
from invoicing.models import InvoiceLine, InvoiceLineItem
from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, waiting_ticket
from tickets import services as ticket_services
from tickets.models import Ticket, TicketItem

D = Decimal
MINUS = "\N{MINUS SIGN}"
pytestmark = pytest.mark.django_db


@pytest.fixture
def insurer(db):
    return BillingAgentFactory(
        company_name="Harbor Insurance",
        contact_first_name="Lee",
        contact_last_name="Park",
        email="claims@harbor.example",
        address_line1="1 Quay Street",
        city="Portsmouth",
        state="NH",
        postal_code="03801",
        net_terms_days=30,
        reference_label="Claim #",
    )


@pytest.fixture
def store(db):
    return LocationFactory(name="Harbor store", tax_rate_percent=D("8.250"))


def claim_ticket(agent, location, *, reference="C-7781", first="Ada", **kwargs):
    """A repair with a taxable part, untaxed labour, a $10 discount and a $20 deposit."""
    customer = CustomerFactory(first_name=first, last_name="Lovelace", billing_agent=agent)
    return waiting_ticket(
        agent,
        customer=customer,
        location=location,
        device="iPhone 13",
        payer_reference=reference,
        discount_value=D("10.00"),
        items=[("Screen assembly", 1, "120.00", True), ("Labour", "1.5", "40.00", False)],
        deposits=["20.00"],
        **kwargs,
    )


def invoice_for(agent, tickets, by=None):
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=by
    )
    return invoice


@pytest.fixture
def claim(insurer, store):
    return claim_ticket(insurer, store)


@pytest.fixture
def invoice(insurer, claim, billing_user):
    return invoice_for(insurer, [claim], by=billing_user)


def pdf_text(body: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def url(name, *args):
    return reverse(f"invoicing:{name}", args=args)


# --- the document ----------------------------------------------------------------------


def test_document_lines_are_the_tickets_snapshot_with_items_discount_tax_and_deposit(
    invoice, claim
):
    claim.refresh_from_db()
    document = invoice_document(invoice)
    [row] = document.lines
    assert row.ticket_number == claim.number
    assert row.customer_name == "Ada Lovelace"
    assert row.description == "iPhone 13"
    assert row.reference == "Claim # C-7781"
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in row.items] == [
        ("Screen assembly", D("1.00"), D("120.00"), D("120.00")),
        ("Labour", D("1.50"), D("40.00"), D("60.00")),
    ]
    assert (row.subtotal, row.discount, row.tax) == (
        claim.subtotal,
        claim.discount_amount,
        claim.tax_amount,
    )
    assert row.subtotal == D("180.00") and row.discount == D("10.00") and row.tax > 0
    assert row.tax_rate == "8.25%"
    assert row.ticket_total == claim.total == row.subtotal - row.discount + row.tax
    assert row.paid_before == D("20.00")
    assert row.amount == row.ticket_total - row.paid_before == invoice.total


def test_document_totals_add_up_the_lines_then_what_was_paid_since(insurer, store, billing_user):
    tickets = [claim_ticket(insurer, store, reference=f"C-{n}") for n in range(3)]
    invoice = invoice_for(insurer, tickets, by=billing_user)
    services.record_remittance(
        invoice=invoice, amount=D("50.00"), method="cheque", reference="CHQ-1", by=billing_user
    )
    invoice.refresh_from_db()
    totals = invoice_document(invoice).totals
    assert totals.subtotal == D("540.00")
    assert totals.discount == D("30.00")
    assert totals.paid_before == D("60.00")
    assert totals.tickets_total == totals.subtotal - totals.discount + totals.tax
    assert totals.total == totals.tickets_total - totals.paid_before == invoice.total
    assert totals.paid_since == D("50.00")
    assert totals.balance == invoice.total - D("50.00")
    assert totals.tax_rate == "8.25%"


def test_totals_name_no_tax_rate_when_the_lines_have_several(insurer, store, billing_user):
    other = LocationFactory(name="Tax-free store", tax_rate_percent=D("0"))
    invoice = invoice_for(
        insurer, [claim_ticket(insurer, store), claim_ticket(insurer, other)], by=billing_user
    )
    document = invoice_document(invoice)
    assert [row.tax_rate for row in document.lines] == ["8.25%", "0%"]
    assert document.totals.tax_rate == ""


def test_terms_are_the_days_between_issue_and_due_date(invoice):
    document = invoice_document(invoice)
    assert document.terms_days == 30 and document.terms == "Net 30 days"
    invoice.due_date = invoice.issue_date
    assert invoice_document(invoice).terms == "Due on receipt"


@pytest.mark.parametrize(
    ("rate", "shown"), [("8.250", "8.25%"), ("10.000", "10%"), ("0.000", "0%"), ("7.125", "7.125%")]
)
def test_tax_rates_print_without_trailing_zeros(rate, shown):
    assert percent(D(rate)) == shown


def _queries(invoice) -> int:
    with CaptureQueriesContext(connection) as captured:
        document = invoice_document(invoice)
        [list(row.items) for row in document.lines]
    return len(captured.captured_queries)


def test_the_document_reads_a_fixed_number_of_queries_for_5_or_50_lines(
    insurer, store, billing_user
):
    small = invoice_for(insurer, [claim_ticket(insurer, store) for _ in range(5)])
    large = invoice_for(insurer, [claim_ticket(insurer, store) for _ in range(50)])
    small = type(small).objects.with_account().get(pk=small.pk)
    large = type(large).objects.with_account().get(pk=large.pk)
    assert _queries(small) == _queries(large) == 3


def _page_queries(client, name: str, invoice) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(name, invoice.pk)).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("name", ["invoice_detail", "invoice_print"])
def test_the_invoice_pages_read_a_fixed_number_of_queries(
    billing_client, insurer, store, billing_user, name
):
    small = invoice_for(insurer, [claim_ticket(insurer, store) for _ in range(2)], by=billing_user)
    large = invoice_for(insurer, [claim_ticket(insurer, store) for _ in range(12)], by=billing_user)
    for invoice in (small, large):
        services.record_remittance(
            invoice=invoice, amount=D("30.00"), method="cheque", by=billing_user
        )
    billing_client.get(url(name, small.pk))  # session and permissions cached alike
    assert _page_queries(billing_client, name, small) == _page_queries(billing_client, name, large)


# --- the snapshot ----------------------------------------------------------------------


def shown(document) -> list[tuple]:
    """What a document prints for each line (a DocumentLine compares by row ids only)."""
    return [
        (
            row.ticket_number,
            row.customer_name,
            row.description,
            row.reference,
            row.subtotal,
            row.discount,
            row.tax,
            row.ticket_total,
            row.paid_before,
            row.amount,
            [(i.description, i.quantity, i.unit_price, i.amount) for i in row.items],
        )
        for row in document.lines
    ]


def test_later_changes_to_the_ticket_never_alter_the_issued_invoice(
    billing_client, invoice, claim, billing_user
):
    before = invoice_document(invoice)
    print_before = billing_client.get(url("invoice_print", invoice.pk)).text
    # Anything that reaches the ticket's columns directly, even while it is invoiced.
    Ticket.objects.filter(pk=claim.pk).update(
        device="Pixel 9", payer_reference="X-0000", subtotal=D("900.00"), total=D("999.00")
    )
    TicketItem.objects.filter(ticket=claim).update(description="Changed later", unit_price=D(1))
    claim.customer.__class__.objects.filter(pk=claim.customer_id).update(first_name="Grace")

    assert shown(invoice_document(invoice)) == shown(before)
    print_after = billing_client.get(url("invoice_print", invoice.pk)).text
    assert print_after == print_before
    text = pdf_text(invoice_pdf(invoice))
    assert "Screen assembly" in text and "Changed later" not in text
    assert "Claim # C-7781" in text and "X-0000" not in text and "Pixel 9" not in text


def test_a_deleted_invoice_keeps_its_items_when_the_ticket_is_edited_again(
    billing_client, invoice, claim, manager_user
):
    services.delete_invoice(invoice=invoice, by=manager_user)
    claim.refresh_from_db()
    # The ticket is editable again: a clerk changes its items and its reference.
    item = claim.items.get(description="Labour")
    ticket_services.update_item(
        item=item,
        description="Labour (2 h)",
        quantity=D(2),
        unit_price=D("45.00"),
        taxable=False,
        by=manager_user,
    )
    ticket_services.add_item(
        ticket=claim, description="Case", quantity=D(1), unit_price=D("15.00"), by=manager_user
    )
    ticket_services.set_payer_reference(ticket=claim, reference="C-9999", by=manager_user)

    invoice.refresh_from_db()
    [row] = invoice_document(invoice).lines
    assert [i.description for i in row.items] == ["Screen assembly", "Labour"]
    assert row.reference == "Claim # C-7781" and row.subtotal == D("180.00")
    page = billing_client.get(url("invoice_print", invoice.pk)).text
    assert "DELETED" in page and "Labour (2 h)" not in page and "Case" not in page
    # A new invoice for the ticket bills its new figures.
    again = invoice_for(claim.billing_agent, [claim])
    [new_row] = invoice_document(again).lines
    assert [i.description for i in new_row.items] == ["Screen assembly", "Labour (2 h)", "Case"]
    assert new_row.reference == "Claim # C-9999"


# --- pages -----------------------------------------------------------------------------


def test_detail_page_shows_each_ticket_with_its_items_and_the_totals(billing_client, invoice):
    response = billing_client.get(url("invoice_detail", invoice.pk))
    assert response.status_code == 200
    text = response.text
    [row] = invoice_document(invoice).lines
    assert f'data-line="{row.ticket_number}"' in text
    assert "Ada Lovelace" in text and "iPhone 13" in text
    assert "<td data-reference>Claim # C-7781</td>" in text
    assert "Screen assembly" in text and "Labour" in text and ">1.50<" in text
    assert "Tax 8.25%" in text and "Paid before invoicing" in text
    assert f"{MINUS}$10.00" in text and f"{MINUS}$20.00" in text
    assert f'data-total="subtotal">{"$180.00"}<' in text
    assert "Net 30 days" in text
    assert url("invoice_pdf", invoice.pk) in text


def test_print_page_shows_the_itemized_document_with_letterhead_and_remit_to(
    billing_client, invoice
):
    Letterhead.objects.create(
        pk=Letterhead.SINGLETON_ID,
        name="Fixers & Co",
        address="12 Harbour Road\nPortsmouth NH 03801",
        phone="555-0100",
        email="billing@fixers.example",
        tax_number="EIN 12-3456789",
        remit_to="Cheques to Fixers & Co\nACH 011000015 / 123456",
    )
    response = billing_client.get(url("invoice_print", invoice.pk))
    assert response.status_code == 200
    text = response.text
    assert "Fixers &amp; Co" in text and "12 Harbour Road" in text and "EIN 12-3456789" in text
    assert "ACH 011000015 / 123456" in text and "data-remit-to" in text
    assert "Screen assembly" in text and "Claim # C-7781" in text
    assert "Tax 8.25%" in text and f"Paid before invoicing {MINUS}$20.00" in text
    assert "Net 30 days" in text
    # The buttons (with Download PDF) exist on the page, never in the PDF.
    assert url("invoice_pdf", invoice.pk) in text and "data-print" in text
    assert 'style="' not in text and "<script>" not in text


def test_print_template_without_buttons_for_the_pdf(invoice):
    html = render_to_string(
        "invoicing/invoice_print.html", {**invoice_document(invoice).context(), "pdf": True}
    )
    assert "data-print" not in html and "bootstrap" not in html and "print.js" not in html
    assert "/static/css/print.css" in html


# --- the PDF ---------------------------------------------------------------------------


def test_pdf_contains_number_tickets_items_reference_and_balance(
    billing_client, insurer, store, billing_user
):
    tickets = [claim_ticket(insurer, store, reference=f"C-{n}00") for n in range(1, 4)]
    invoice = invoice_for(insurer, tickets, by=billing_user)
    response = billing_client.get(url("invoice_pdf", invoice.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    body = response.content
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert invoice.number in text
    for ticket, n in zip(tickets, range(1, 4), strict=True):
        assert ticket.number in text
        assert f"Claim # C-{n}00" in text
    assert "Screen assembly" in text and "Labour" in text
    document = invoice_document(invoice)
    balance = f"${document.totals.balance:,.2f}"
    assert f"Balance due {balance}" in text.replace("\n", " ")
    assert "Harbor Insurance" in text and "Net 30 days" in text


def test_pdf_carries_the_letterhead_with_its_logo(billing_client, invoice):
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
        b"5\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    Letterhead.objects.create(
        pk=Letterhead.SINGLETON_ID,
        name="Fixers & Co",
        tax_number="EIN 12-3456789",
        remit_to="Pay to Fixers",
        logo=png,
        logo_content_type="image/png",
    )
    body = billing_client.get(url("invoice_pdf", invoice.pk)).content
    reader = pypdf.PdfReader(io.BytesIO(body))
    text = reader.pages[0].extract_text()
    assert "Fixers & Co" in text and "EIN 12-3456789" in text and "Pay to Fixers" in text
    assert reader.pages[0].images, "the logo is embedded"


def test_a_deleted_invoice_still_downloads_marked_deleted(billing_client, invoice, manager_user):
    services.delete_invoice(invoice=invoice, by=manager_user)
    response = billing_client.get(url("invoice_pdf", invoice.pk))
    assert response.status_code == 200
    assert "DELETED" in pdf_text(response.content)


def test_a_long_invoice_repeats_its_header_and_numbers_its_pages(insurer, store):
    tickets = [claim_ticket(insurer, store, reference=f"L-{n}") for n in range(40)]
    invoice = invoice_for(insurer, tickets)
    reader = pypdf.PdfReader(io.BytesIO(invoice_pdf(invoice)))
    pages = len(reader.pages)
    assert pages > 1
    for n, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        assert "unit price" in text, f"page {n} repeats the column headings"
        assert f"Page {n} of {pages}" in text and invoice.number in text


def test_pdf_missing_invoice_is_404(billing_client):
    assert billing_client.get(url("invoice_pdf", 999999)).status_code == 404


def test_pdf_needs_the_view_invoice_permission(front_desk_client, invoice):
    assert front_desk_client.get(url("invoice_pdf", invoice.pk)).status_code == 403


def test_pdf_is_get_only(billing_client, invoice):
    assert billing_client.post(url("invoice_pdf", invoice.pk)).status_code == 405


def test_pdf_is_refused_on_the_essentials_plan(billing_client, invoice, settings):
    settings.SHOP_PLAN = "essentials"
    response = billing_client.get(url("invoice_pdf", invoice.pk))
    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.content.decode()


# --- the email -------------------------------------------------------------------------


def test_email_templates_are_itemized(invoice):
    context = invoice_document(invoice).context()
    text = render_to_string("invoicing/email/invoice.txt", context)
    html = render_to_string("invoicing/email/invoice.html", context)
    for body in (text, html):
        assert invoice.number in body
        assert "Ada Lovelace" in body and "iPhone 13" in body and "Claim # C-7781" in body
        assert "Screen assembly" in body and "Labour" in body
        assert "Tax 8.25%" in body and "Paid before invoicing" in body
        assert "Net 30 days" in body
    assert "&amp;" not in text  # plain text is not HTML-escaped


def test_the_sent_email_is_itemized_and_carries_the_pdf(
    billing_client, invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        billing_client.post(url("invoice_send", invoice.pk))
    [message] = mail.outbox
    assert "Screen assembly" in message.body and "Claim # C-7781" in message.body
    [(filename, body, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert "Screen assembly" in pdf_text(body)


# --- core.pdf: static files only ---------------------------------------------------------


def test_the_fetcher_serves_static_files_and_refuses_everything_else():
    fetcher = StaticFilesFetcher()
    css = fetcher.fetch(f"{BASE_URL}static/css/print.css")
    assert b".doc-lines" in css.read() and css.content_type == "text/css"
    for refused in (
        "https://example.com/static/css/print.css",
        "http://documents.invalid/static/css/print.css",
        f"{BASE_URL}invoices/1/",
        f"{BASE_URL}static/../config/settings.py",
        f"{BASE_URL}static/css/missing.css",
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(refused)
    assert static_file(f"{BASE_URL}static/%2e%2e/config/settings.py") is None
    data = fetcher.fetch("data:text/plain;base64,aGk=")
    assert data.read() == b"hi"


def test_snapshot_rows_exist_for_each_item(invoice):
    [line] = InvoiceLine.objects.filter(invoice=invoice)
    assert InvoiceLineItem.objects.filter(line=line).count() == 2


def test_an_absolute_static_url_is_served_from_the_static_files_too(settings):
    settings.STATIC_URL = "https://static.shop.example/assets/"
    assert static_file("https://static.shop.example/assets/css/print.css").name == "print.css"
    assert static_file("https://other.example/assets/css/print.css") is None
    assert static_file(f"{BASE_URL}static/css/print.css") is None


def test_the_collector_is_paused_only_while_a_document_renders(monkeypatch):
    seen = []

    def write_pdf(self):
        seen.append(gc.isenabled())
        raise RuntimeError("render failed")

    monkeypatch.setattr(pdf.HTML, "write_pdf", write_pdf)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        pdf.render_pdf("statements/statement_pdf.html", {})
    assert seen == [False] and gc.isenabled()
