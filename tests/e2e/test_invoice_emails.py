"""Browser journeys of invoice emails (issue 12): an itemized invoice with a claim number,
its PDF downloaded, emailed through a real worker to an SMTP sink, then overdue and
reminded once by the daily job; and a send the mail server refused, retried by the clerk.
"""

import io
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pypdf
import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import BILLING, ensure_role_groups
from invoicing import services
from invoicing.accounts import account_for
from invoicing.models import DeliveryStatus, EmailDelivery, Invoice
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)
from tests.invoicing.test_worker_integration import DATABASE_TASKS, run_worker, sink  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def roles(transactional_db):
    ensure_role_groups()


@pytest.fixture
def clerk(roles):
    return UserFactory(username="bailey", role=BILLING)


def _emails(page):
    return page.locator("#invoice-emails")


@pytest.mark.postgres
def test_itemized_invoice_with_a_claim_number_pdf_email_and_one_overdue_reminder(
    live_server,
    page,
    login,
    clerk,
    settings,
    sink,  # noqa: F811
):
    settings.TASKS = DATABASE_TASKS
    agent = BillingAgentFactory(
        company_name="Harbor Insurance",
        email="claims@harbor.example",
        net_terms_days=30,
        reference_label="Claim #",
        reference_required=True,
    )
    ada = CustomerFactory(first_name="Ada", last_name="Lovelace", billing_agent=agent)
    ticket = waiting_ticket(
        agent,
        customer=ada,
        location=LocationFactory(name="Harbor store", tax_rate_percent=D("0")),
        items=[("Screen assembly", 1, "180.00", True), ("Labour", 1, "45.00", False)],
        payer_reference="CLM-7781",
    )
    base = live_server.url
    login(clerk)

    # --- create the invoice ----------------------------------------------------------
    page.goto(f"{base}/invoices/new/")
    page.get_by_label("Find a billing agent or customer").fill("Harbor")
    page.get_by_role("option", name=re.compile("Harbor Insurance")).click()
    expect(page.locator("#ticket-table")).to_contain_text("Ada Lovelace")
    page.get_by_label("Tick all tickets").check()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator("h1")).to_contain_text("Invoice INV-")
    invoice = Invoice.objects.get()
    expect(page.locator("body")).to_contain_text("CLM-7781")

    # --- download its PDF --------------------------------------------------------------
    with page.expect_download() as download:
        page.locator("[data-download-pdf]").first.click()
    pdf = pypdf.PdfReader(download.value.path())
    text = "\n".join(p.extract_text() for p in pdf.pages)
    for expected in (invoice.number, ticket.number, "CLM-7781", "Screen assembly", "$225.00"):
        assert expected in text

    # --- email it: queued, then the worker delivers it to the SMTP sink ---------------
    emails = _emails(page)
    expect(emails).to_contain_text("No emails yet.")
    emails.get_by_role("button", name="Email invoice").click()
    expect(emails.locator('[data-delivery="queued"]')).to_have_count(1)
    run_worker(sink)
    # The section refreshes itself while an email is queued.
    expect(emails.locator('[data-delivery="sent"]')).to_have_count(1, timeout=10_000)
    expect(emails).to_contain_text("claims@harbor.example")
    [message] = sink.messages
    assert invoice.number in message["Subject"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")

    # --- it becomes overdue: with the clock frozen 8 days past the due date, the daily job
    # queues level 1 once however often it runs, and the worker sends it -------------
    invoice.refresh_from_db()
    overdue_day = timezone.make_aware(
        datetime.combine(invoice.due_date + timedelta(days=8), time(7, 0))
    )
    with time_machine.travel(overdue_day, tick=False):
        for _ in range(2):
            call_command("send_reminders", stdout=io.StringIO())
    run_worker(sink)
    with time_machine.travel(overdue_day + timedelta(days=1), tick=False):
        call_command("send_reminders", stdout=io.StringIO())
    run_worker(sink)
    assert [m["Subject"] for m in sink.messages[1:]] == [
        f"Reminder: invoice {invoice.number} is past due"
    ]
    page.reload()
    row = emails.locator("tr", has_text="Reminder 1")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Sent")
    expect(row).to_contain_text("Daily reminders")


def test_a_refused_email_is_shown_failed_and_retried_by_the_clerk(
    live_server, page, login, clerk, monkeypatch
):
    agent = BillingAgentFactory(company_name="Lakeside Schools", email="ap@lakeside.example")
    ticket = waiting_ticket(agent, items=[("Battery", 1, "60.00", False)])
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=clerk
    )
    refusing = [True]
    deliver = locmem.EmailBackend.send_messages

    def send_messages(backend, messages):
        if refusing[0]:
            raise ConnectionRefusedError(111, "Connection refused")
        return deliver(backend, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    login(clerk)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")
    emails = _emails(page)

    # The immediate backend of the tests sends (and retries) as soon as the click commits.
    emails.get_by_role("button", name="Email invoice").click()
    failed = emails.locator('[data-delivery="failed"]')
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Connection refused")
    expect(page.locator("#toast-area")).to_contain_text("Queued")

    refusing[0] = False
    failed.get_by_role("button", name="Retry").click()
    expect(emails.locator('[data-delivery="sent"]')).to_have_count(1)
    expect(emails.get_by_role("button", name="Retry")).to_have_count(0)
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 6)
    assert [m.to for m in mail.outbox] == [["ap@lakeside.example"]]
