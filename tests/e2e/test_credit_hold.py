"""Browser journey of the credit hold (issue 11, journey b): an agent 61 days overdue is on
hold; a front-desk move to Waiting for Payment is refused with the reason; a manager
overrides and the status history shows it; paying the old invoice lifts the hold."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import FRONT_DESK, MANAGER, ensure_role_groups
from invoicing.models import InvoiceStatus
from tests.factories import BillingAgentFactory, LocationFactory, UserFactory
from tests.tickets.test_credit_hold import overdue_invoice, ready_ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(transactional_db):
    """Acme Insurance with an invoice 61 days past due and two tickets ready for pickup."""
    ensure_role_groups()
    LocationFactory(name="Downtown", tax_rate_percent=Decimal("0"))
    agent = BillingAgentFactory(company_name="Acme Insurance", net_terms_days=30)
    invoice = overdue_invoice(agent, days_past_due=61, price="240.00")
    first, second = ready_ticket(agent), ready_ticket(agent)
    return agent, invoice, first, second


def _status(page):
    return page.locator("#ticket-workspace h1 [data-testid=ticket-status]")


def _log_out(page):
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out").click()


def test_hold_refuses_front_desk_a_manager_overrides_and_paying_lifts_it(live_server, login, shop):
    agent, invoice, first, second = shop
    base = live_server.url
    reason = f"Acme Insurance is on credit hold: {invoice.number} is 61 days past due."

    # --- front desk: the badge beside the agent, and the move refused with the reason ----
    page = login(UserFactory(username="fran", role=FRONT_DESK))
    page.goto(f"{base}{first.get_absolute_url()}")
    badge = page.get_by_test_id("ticket-agent").get_by_test_id("credit-hold-badge")
    expect(badge).to_contain_text("On hold")
    tooltip = f"{invoice.number} is 61 days past due (due {invoice.due_date:%Y-%m-%d}; "
    expect(badge).to_have_attribute("title", f"{tooltip}the hold starts after 60 days).")
    page.get_by_role("button", name="Waiting for Payment").click()
    alert = page.get_by_test_id("credit-hold-alert")
    expect(alert).to_contain_text(reason)
    expect(alert.get_by_role("button", name="Override credit hold and move")).to_have_count(0)
    expect(_status(page)).to_have_text("Ready for Pickup")
    _log_out(page)

    # --- manager: the manage page marks the agent; the override moves the ticket ---------
    manager = UserFactory(username="mona", role=MANAGER)
    login(manager)
    page.goto(f"{base}/billing-agents/")
    row = page.locator(f"#agent-row-{agent.pk}")
    expect(row.get_by_test_id("credit-hold-badge")).to_contain_text("On hold")
    row.get_by_role("link", name="Acme Insurance").click()
    expect(page.get_by_test_id("credit-hold-alert")).to_contain_text("61 days past due")

    page.goto(f"{base}{first.get_absolute_url()}")
    page.get_by_role("button", name="Waiting for Payment").click()
    alert = page.get_by_test_id("credit-hold-alert")
    expect(alert).to_contain_text(reason)
    alert.get_by_role("button", name="Override credit hold and move").click()
    expect(_status(page)).to_have_text("Waiting for Payment")
    history = page.get_by_role("region", name="Status history")
    expect(history).to_contain_text("Ready for Pickup → Waiting for Payment")
    expect(history.get_by_test_id("credit-hold-overridden")).to_have_text("credit hold overridden")
    first.refresh_from_db()
    assert first.status == Status.WAITING_FOR_PAYMENT
    assert first.status_changes.get().credit_hold_override is True

    # --- the old invoice is paid through the remittance form: the hold is gone -----------
    page.goto(f"{base}/invoices/{invoice.pk}/remittance/")
    page.get_by_role("link", name="Pay full balance").click()
    expect(page.get_by_label("Amount")).to_have_value("240.00")
    page.get_by_label("Reference").fill("CHQ-5501")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Paid")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID

    page.goto(f"{base}/billing-agents/")
    row = page.locator(f"#agent-row-{agent.pk}")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("credit-hold-badge")).to_have_count(0)
    page.goto(f"{base}{agent.get_absolute_url()}")
    expect(page.get_by_test_id("credit-hold-badge")).to_have_count(0)

    # --- and the next ticket moves without any override ----------------------------------
    page.goto(f"{base}{second.get_absolute_url()}")
    expect(page.get_by_test_id("ticket-agent")).to_contain_text("Acme Insurance")
    expect(page.get_by_test_id("credit-hold-badge")).to_have_count(0)
    page.get_by_role("button", name="Waiting for Payment").click()
    expect(_status(page)).to_have_text("Waiting for Payment")
    expect(page.get_by_test_id("credit-hold-alert")).to_have_count(0)
    expect(page.get_by_test_id("credit-hold-overridden")).to_have_count(0)
    second.refresh_from_db()
    assert second.status_changes.get().credit_hold_override is False
