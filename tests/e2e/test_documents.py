"""Browser journey: a clerk reads an itemized invoice with a claim number, opens its print
page, downloads its PDF, then downloads the agent's statement as a PDF."""

import io
from decimal import Decimal

import pypdf
import pytest
from playwright.sync_api import expect

from core.models import Letterhead
from core.roles import BILLING, ensure_role_groups
from invoicing import services
from invoicing.accounts import account_for
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def _pdf_text(path) -> str:
    with open(path, "rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    return " ".join(page.extract_text() for page in reader.pages).replace("\n", " ")


def test_a_clerk_reads_prints_and_downloads_an_itemized_invoice(live_server, page, login):
    ensure_role_groups()
    clerk = UserFactory(username="e2e-documents", role=BILLING)
    Letterhead.objects.create(
        pk=Letterhead.SINGLETON_ID,
        name="Harbour Fixers",
        address="12 Harbour Road\nPortsmouth NH 03801",
        tax_number="EIN 12-3456789",
        remit_to="Cheques payable to Harbour Fixers",
    )
    insurer = BillingAgentFactory(
        company_name="Harbor Insurance", reference_label="Claim #", net_terms_days=30
    )
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace", billing_agent=insurer)
    ticket = waiting_ticket(
        insurer,
        customer=customer,
        location=LocationFactory(name="Harbor store", tax_rate_percent=D("8.250")),
        device="iPhone 13",
        payer_reference="C-7781",
        items=[("Screen assembly", 1, "120.00", True), ("Labour", 1, "40.00", False)],
        deposits=["20.00"],
    )
    [invoice] = services.create_invoices(
        account=account_for(insurer), ticket_ids=[ticket.pk], batch=True, by=clerk
    )

    login(clerk)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    line = page.locator(f"[data-line='{ticket.number}']")
    expect(line).to_contain_text("Ada Lovelace")
    expect(line.locator("[data-reference]")).to_have_text("Claim # C-7781")
    expect(line.locator("[data-item]")).to_have_count(2)
    expect(line).to_contain_text("Tax 8.25%")
    expect(line).to_contain_text("Paid before invoicing")

    page.get_by_role("link", name="Print").click()
    document = page.get_by_role("article", name=f"Invoice {invoice.number}")
    expect(document).to_contain_text("Harbour Fixers")
    expect(document).to_contain_text("EIN 12-3456789")
    expect(document).to_contain_text("Screen assembly")
    expect(document).to_contain_text("Claim # C-7781")
    expect(document.locator("[data-remit-to]")).to_have_text("Cheques payable to Harbour Fixers")
    expect(document.locator("[data-balance]")).to_have_text(f"${invoice.balance:,.2f}")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    text = _pdf_text(download.path())
    assert invoice.number in text and ticket.number in text and "Claim # C-7781" in text
    assert f"Balance due ${invoice.balance:,.2f}" in text

    # The agent's statement offers its PDF too.
    page.goto(f"{live_server.url}/billing-agents/{insurer.pk}/statement/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    statement = download_info.value
    assert statement.suggested_filename.startswith("statement-harbor-insurance-")
    assert "STATEMENT OF ACCOUNT" in _pdf_text(statement.path())
