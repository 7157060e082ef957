"""Journey in Chromium (issue 11, a): an agent with three open invoices sends one cheque
that pays two and part of the third. The clerk records it once on the agent's account;
last month's statement shows the invoices and the payment with a running balance, and
the aging report moves the figures."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import BILLING
from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit
from invoicing.models import Invoice, InvoiceStatus, Remittance
from tests.factories import BillingAgentFactory, LocationFactory, UserFactory, waiting_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _invoice(agent, price: str, issued, due, location, clerk) -> Invoice:
    ticket = waiting_ticket(agent, location=location, items=[("Repair", 1, price, True)])
    opened = timezone.make_aware(datetime.combine(issued - timedelta(days=1), time(10)))
    Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, issue_date=issued, by=clerk
    )
    Invoice.objects.filter(pk=invoice.pk).update(due_date=due)
    return invoice


def test_one_cheque_pays_two_invoices_and_part_of_a_third(live_server, login):
    clerk = UserFactory(username="e2e-receivables", role=BILLING)
    agent = BillingAgentFactory(company_name="Harbor Insurance", net_terms_days=30)
    location = LocationFactory(name="Downtown", tax_rate_percent=Decimal("0"))
    today = timezone.localdate()
    month_end = today.replace(day=1) - timedelta(days=1)
    month = month_end.replace(day=1)
    # Due 15 days ago (past due), then two not due yet.
    first = _invoice(agent, "100.00", month, today - timedelta(days=15), location, clerk)
    second = _invoice(
        agent, "60.00", month + timedelta(days=4), today + timedelta(5), location, clerk
    )
    third = _invoice(
        agent, "80.00", month + timedelta(days=9), today + timedelta(9), location, clerk
    )

    page = login(clerk)
    page.goto(f"{live_server.url}/reports/aging/")
    row = page.locator(f"[data-payer='agent-{agent.pk}']")
    expect(row.locator("[data-figure=total]")).to_have_text("$240.00")
    expect(row.locator("[data-figure=d1_30]")).to_have_text("$100.00")

    page.goto(f"{live_server.url}{agent.get_absolute_url()}")
    page.get_by_role("link", name="Receive payment").click()
    expect(page.get_by_role("heading", name="Payment from Harbor Insurance")).to_be_visible()
    # One table grouped by invoice, oldest due date first.
    groups = page.locator("[data-invoice-group]")
    expect(groups).to_have_count(3)
    expect(groups.nth(0)).to_contain_text(first.number)
    page.get_by_label("Amount").fill("190.00")
    page.get_by_label("Method").select_option(label="Cheque")
    page.get_by_label("Reference").fill("CHQ-5521")
    page.get_by_label("Date received").fill(month_end.isoformat())
    # The proposal fills the oldest first: 100, 60, then 30 of the 80.
    [third_line] = third.lines.all()
    expect(page.locator(f"#id_line-{third_line.pk}")).to_have_value("30.00")
    expect(page.locator("[data-figure=to-credit]")).to_have_text("$0.00")
    page.get_by_role("button", name="Record payment").click()

    page.wait_for_url(f"{live_server.url}{agent.get_absolute_url()}")
    expect(page.get_by_text("Recorded cheque payment of $190.00")).to_be_visible()
    payment = Remittance.objects.get()
    assert payment.invoice is None and payment.allocations.count() == 3
    statuses = [Invoice.objects.get(pk=i.pk).status for i in (first, second, third)]
    assert statuses == [InvoiceStatus.PAID, InvoiceStatus.PAID, InvoiceStatus.OPEN]

    # Last month's statement (the default period) shows the three invoices and the cheque.
    page.get_by_role("link", name="Statement").click()
    lines = page.locator("[data-line]")
    expect(lines).to_have_count(4)
    expect(page.locator("[data-line]").last).to_contain_text("CHQ-5521")
    expect(page.locator("[data-opening]")).to_have_text("$0.00")
    expect(page.locator("[data-closing]")).to_have_text("$50.00")

    page.goto(f"{live_server.url}/reports/aging/")
    row = page.locator(f"[data-payer='agent-{agent.pk}']")
    expect(row.locator("[data-figure=total]")).to_have_text("$50.00")
    expect(row.locator("[data-figure=d1_30]")).to_have_text("$0.00")
    expect(row.locator("[data-figure=current]")).to_have_text("$50.00")


def test_a_clerk_applies_the_agents_credit_to_its_oldest_invoices(live_server, login):
    clerk = UserFactory(username="e2e-credit", role=BILLING)
    agent = BillingAgentFactory(company_name="Summit Property", net_terms_days=30)
    location = LocationFactory(name="Uptown", tax_rate_percent=Decimal("0"))
    today = timezone.localdate()
    older = _invoice(
        agent, "50.00", today - timedelta(days=20), today - timedelta(5), location, clerk
    )
    newer = _invoice(
        agent, "80.00", today - timedelta(days=2), today + timedelta(28), location, clerk
    )
    adjust_credit(account=account_for(agent), amount=Decimal("70.00"), reason="Goodwill", by=clerk)

    page = login(clerk)
    page.goto(f"{live_server.url}{agent.get_absolute_url()}")
    page.get_by_role("link", name="Apply credit to oldest invoices").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text(older.number)
    expect(dialog).to_contain_text(newer.number)
    dialog.get_by_role("button", name="Apply $70.00").click()

    expect(page.get_by_text(f"Applied $70.00 of account credit to {older.number}")).to_be_visible()
    expect(page.locator("[data-figure=credit-balance]")).to_have_text("$0.00")
    assert Invoice.objects.get(pk=older.pk).status == InvoiceStatus.PAID
    assert Invoice.objects.get(pk=newer.pk).amount_paid == Decimal("20.00")
