"""Journey in Chromium: a claim number entered on the ticket lets it wait for payment, the
invoice is found by it, and the filtered invoice list and the payments download as CSV;
no CSP violation."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import BILLING
from invoicing import services
from invoicing.accounts import account_for
from tests.factories import BillingAgentFactory, UserFactory, agent_ticket
from tickets.models import Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(download) -> list[dict]:
    with open(download.path(), encoding="utf-8") as file:
        return list(csv.DictReader(io.StringIO(file.read())))


def test_claim_number_from_ticket_to_invoice_search_and_exports(live_server, login, page):
    clerk = UserFactory(username="e2e-billing", role=BILLING)
    insurer = BillingAgentFactory(
        company_name="Harbor Insurance", reference_label="Claim #", reference_required=True
    )
    ticket = agent_ticket(insurer, status=Status.READY_FOR_PICKUP)
    other = agent_ticket(insurer, status=Status.READY_FOR_PICKUP, payer_reference="CLM-0001")
    other.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
    login(clerk)

    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")
    status = page.locator("#ticket-status")
    expect(status).to_contain_text("Harbor Insurance requires a Claim # on every ticket")
    expect(status.get_by_role("button", name="Waiting for Payment")).to_have_count(0)
    expect(page.get_by_text("Required by Harbor Insurance")).to_be_visible()

    page.get_by_label("Claim #").fill("CLM-2024-0042")
    page.get_by_role("button", name="Save Claim #").click()
    expect(page.get_by_text("Claim # CLM-2024-0042 saved.")).to_be_visible()
    status.get_by_role("button", name="Waiting for Payment").click()
    expect(page.get_by_role("heading", name="Status: Waiting for Payment")).to_be_visible()

    services.create_invoices(
        account=account_for(insurer), ticket_ids=[ticket.pk], batch=True, by=clerk
    )
    [invoice] = services.create_invoices(
        account=account_for(insurer), ticket_ids=[other.pk], batch=True, by=clerk
    )
    services.record_remittance(
        invoice=invoice, amount=Decimal("50.00"), method="cheque", reference="CHQ 7", by=clerk
    )
    claimed = Ticket.objects.get(pk=ticket.pk).invoice_lines.get().invoice

    page.get_by_role("link", name="Invoices").first.click()
    page.get_by_label("Search").fill("clm-2024")
    table = page.locator("#invoice-table tbody tr")
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text(claimed.number)

    with page.expect_download() as invoices_csv:
        page.get_by_role("link", name="Export CSV").click()
    [row] = _rows(invoices_csv.value)
    assert row["Invoice"] == claimed.number
    assert row["References"] == "CLM-2024-0042"

    page.get_by_text("Export payments for the books (CSV)").click()
    today = f"{timezone.localdate():%Y-%m-%d}"
    page.get_by_label("Received from").fill(today)
    page.get_by_label("Received to").fill(today)
    with page.expect_download() as payments_csv:
        page.get_by_role("button", name="Download payments CSV").click()
    assert payments_csv.value.suggested_filename == f"payments-from-{today}-to-{today}.csv"
    [payment] = _rows(payments_csv.value)
    assert payment["Invoice"] == invoice.number
    assert payment["Reference"] == "CHQ 7"
    assert payment["Allocated"] == "50.00"
