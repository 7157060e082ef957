"""Browser journey: batch invoice for an agent, print, partial and over-payment, credit,
paid and closed; a second invoice deleted and its ticket back in Waiting for Payment."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import expect

from core.money import format_money
from core.roles import BILLING, MANAGER, ensure_role_groups
from invoicing.accounts import account_for
from invoicing.ledger import credit_balance
from invoicing.models import CreditKind, CreditTransaction, Invoice, InvoiceStatus
from tests.factories import (
    PASSWORD,
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)
from tickets.models import Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def roles(transactional_db):
    """The role groups, recreated if an earlier transactional test flushed them."""
    ensure_role_groups()


def _url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _statuses(*tickets) -> list[str]:
    return [Ticket.objects.get(pk=t.pk).status for t in tickets]


def test_invoice_an_agent_print_pay_overpay_and_delete(live_server, page, login, roles):
    manager = UserFactory(username="morgan", role=MANAGER)
    agent = BillingAgentFactory(
        company_name="Lakeside School District",
        email="ap@lakeside.example",
        net_terms_days=30,
        invoice_method="batch",
    )
    downtown = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
    ada = CustomerFactory(first_name="Ada", last_name="Lovelace", billing_agent=agent)
    alan = CustomerFactory(first_name="Alan", last_name="Turing", billing_agent=agent)
    # 200 less a 50 deposit = 150 due; 100 less 10% = 90 due.
    with_deposit = waiting_ticket(
        agent,
        customer=ada,
        location=downtown,
        items=[("Screen", 1, "200.00", True)],
        deposits=["50.00"],
    )
    with_discount = waiting_ticket(
        agent,
        customer=alan,
        location=downtown,
        items=[("Battery", 1, "100.00", True)],
        discount_type="percent",
        discount_value=D("10"),
    )
    base = live_server.url
    login(manager)

    # --- create a batch invoice through the UI ---------------------------------------
    page.goto(f"{base}/invoices/new/")
    page.get_by_label("Find a billing agent or customer").fill("Lakeside")
    page.get_by_role("option", name=re.compile("Lakeside School")).click()
    table = page.locator("#ticket-table")
    expect(table).to_contain_text("Ada Lovelace")
    expect(table).to_contain_text("Alan Turing")
    expect(table).to_contain_text("$150.00")
    expect(table).to_contain_text("$90.00")
    page.get_by_label("Tick all tickets").check()
    expect(page.locator(f"#ticket-{with_discount.pk}")).to_be_checked()
    expect(page.get_by_label("One batch invoice")).to_be_checked()  # the agent's default
    page.get_by_role("button", name="Create invoice").click()

    expect(page.locator("h1")).to_contain_text("Invoice INV-")
    invoice = Invoice.objects.get()
    expect(page.locator("[data-figure=total]")).to_have_text("$240.00")
    expect(page.locator("[data-invoice-status]")).to_have_text("Open")
    assert _statuses(with_deposit, with_discount) == [Status.INVOICED, Status.INVOICED]
    expect(page.locator("[data-ticket-status]").first).to_have_text("Invoiced")
    ticket_url = _url_or_none("tickets:ticket_detail", with_deposit.pk)
    if ticket_url:  # the ticket page (another engineer's) shows the status and no editing
        page.goto(f"{base}{ticket_url}")
        expect(page.locator("body")).to_contain_text("Invoiced")
        page.goto(f"{base}{invoice.get_absolute_url()}")

    # --- print -----------------------------------------------------------------------
    page.get_by_role("link", name="Print").click()
    expect(page.locator("[data-number]")).to_have_text(invoice.number)
    expect(page.locator("[data-bill-to]")).to_contain_text("Lakeside School District")
    expect(page.locator("body")).to_contain_text("Ada Lovelace")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Back to invoice").click()

    # --- partial remittance: proposed oldest first as the amount is typed -----------
    page.get_by_role("link", name="Remittance").click()
    amount = page.get_by_label("Amount")
    amount.fill("")
    amount.press_sequentially("100")
    expect(page.locator(f"#id_line-{invoice.lines.get(ticket=with_deposit).pk}")).to_have_value(
        "100.00"
    )
    expect(page.locator(f"#id_line-{invoice.lines.get(ticket=with_discount).pk}")).to_have_value(
        "0.00"
    )
    expect(page.locator("[data-figure=to-credit]")).to_have_text("$0.00")
    page.get_by_label("Reference").fill("CHQ-1001")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Partially paid")
    expect(page.locator("[data-figure=balance]")).to_have_text("$140.00")

    # --- second remittance overpays: the rest becomes credit -------------------------
    page.get_by_role("link", name="Remittance").click()
    amount = page.get_by_label("Amount")
    amount.fill("")
    amount.press_sequentially("150")
    expect(page.locator("[data-figure=to-credit]")).to_have_text("$10.00")
    page.get_by_label("Method").select_option("ach")
    page.get_by_label("Reference").fill("ACH-77")
    page.get_by_role("button", name="Record payment").click()

    expect(page.locator("[data-invoice-status]")).to_have_text("Paid")
    expect(page.locator("[data-figure=overpaid]")).to_have_text("$10.00")
    expect(page.locator("[data-figure=credit]")).to_have_text("$10.00")
    expect(page.locator("[data-ticket-status]")).to_have_text(["Closed", "Closed"])
    assert credit_balance(account=account_for(agent)) == D("10.00")
    assert (
        CreditTransaction.objects.get(account__billing_agent=agent).kind == CreditKind.OVERPAYMENT
    )
    assert _statuses(with_deposit, with_discount) == [Status.CLOSED, Status.CLOSED]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    agent_url = _url_or_none("billing_agents:agent_detail", agent.pk)
    if agent_url:  # the agent page (another engineer's) lists credit transactions
        page.goto(f"{base}{agent_url}")
        expect(page.locator("body")).to_contain_text("10.00")

    # --- a second, unpaid invoice is deleted ------------------------------------------
    late = waiting_ticket(
        agent, customer=alan, location=downtown, items=[("Port", 1, "40.00", True)]
    )
    page.goto(f"{base}/invoices/new/?payer=agent-{agent.pk}")
    page.locator(f"#ticket-{late.pk}").check()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator("h1")).to_contain_text("Invoice INV-")
    second = Invoice.objects.exclude(pk=invoice.pk).get()
    assert _statuses(late) == [Status.INVOICED]

    page.get_by_role("link", name="Delete").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Delete invoice {second.number}?")
    dialog.get_by_role("button", name="Delete invoice").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Deleted")
    assert _statuses(late) == [Status.WAITING_FOR_PAYMENT]
    second.refresh_from_db()
    assert second.status == InvoiceStatus.DELETED

    # The list shows both, the paid one without Remittance / Delete.
    page.goto(f"{base}/invoices/?status=all")
    paid_row = page.locator(f"#invoice-row-{invoice.pk}")
    expect(paid_row.locator("[data-status]")).to_have_text("Paid")
    expect(paid_row.get_by_role("link", name="Delete")).to_have_count(0)
    expect(page.locator(f"#invoice-row-{second.pk} [data-status]")).to_have_text("Deleted")


def _swapped(page, href_part: str) -> None:
    """Wait until the ticket table has been swapped in (its links carry `href_part`) and
    settled: htmx binds the new filters' triggers only when the swap settles."""
    expect(page.get_by_role("link", name="Tick all")).to_have_attribute(
        "href", re.compile(re.escape(href_part))
    )
    expect(page.locator("#ticket-table")).not_to_have_class(re.compile(r"htmx-(added|settling)"))


def _picker(agent):
    """Tickets of 1,200.00 and 34.56 at North and one of 25.00 at South."""
    north = LocationFactory(name="North", tax_rate_percent=D("0"))
    south = LocationFactory(name="South", tax_rate_percent=D("0"))
    big = waiting_ticket(agent, location=north, items=[("Board", 1, "1200.00", True)])
    small = waiting_ticket(agent, location=north, items=[("Cable", 1, "34.56", True)])
    away = waiting_ticket(agent, location=south, items=[("Fan", 1, "25.00", True)])
    return north, big, small, away


def test_create_totals_the_ticked_tickets_and_filters_keep_ticks_and_show_errors(
    live_server, page, login, roles
):
    agent = BillingAgentFactory(company_name="Harbor Insurance", invoice_method="batch")
    north, big, small, away = _picker(agent)
    login(UserFactory(username="bea", role=BILLING))
    page.goto(f"{live_server.url}/invoices/new/?payer=agent-{agent.pk}")

    # The footer adds up the ticked tickets only, in place.
    total = page.locator("[data-ticked-total]")
    expect(total).to_have_text("$0.00")
    page.locator(f"#ticket-{big.pk}").check()
    expect(total).to_have_text("$1,200.00")
    page.locator(f"#ticket-{small.pk}").check()
    expect(total).to_have_text("$1,234.56")
    page.get_by_label("Tick all tickets").check()
    expect(total).to_have_text("$1,259.56")
    page.locator(f"#ticket-{away.pk}").uncheck()
    expect(total).to_have_text("$1,234.56")
    expect(page.locator("[data-ticked-count]")).to_have_text("2")
    expect(page.get_by_label("Tick all tickets")).not_to_be_checked()

    # A filter change keeps the ticks.
    page.get_by_label("Location", exact=True).select_option(label="North")
    _swapped(page, f"location={north.pk}")
    expect(page.locator(f"#ticket-{away.pk}")).to_have_count(0)
    expect(page.locator(f"#ticket-{big.pk}")).to_be_checked()
    expect(page.locator(f"#ticket-{small.pk}")).to_be_checked()
    expect(total).to_have_text("$1,234.56")
    expect(page).to_have_url(re.compile(f"tickets={big.pk}"))

    # An invalid date range is named beside the date; the location filter and ticks stay.
    today = timezone.localdate()
    page.get_by_label("From", exact=True).fill(today.isoformat())
    _swapped(page, "date_from=")
    page.get_by_label("To", exact=True).fill((today - timedelta(days=3)).isoformat())
    _swapped(page, "date_to=")
    expect(page.locator("#id_date_to_error")).to_have_text("The end date is before the start date.")
    expect(page.get_by_label("To", exact=True)).to_have_class(re.compile("is-invalid"))
    expect(page.get_by_label("Location", exact=True)).to_have_value(str(north.pk))
    expect(page.locator(f"#ticket-{away.pk}")).to_have_count(0)
    expect(page.locator(f"#ticket-{big.pk}")).to_be_checked()
    expect(total).to_have_text("$1,234.56")

    page.get_by_label("To", exact=True).fill(today.isoformat())
    expect(page.locator("#id_date_to_error")).to_have_count(0)
    expect(page.locator(f"#ticket-{small.pk}")).to_be_checked()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator("h1")).to_contain_text("Invoice INV-")
    invoice = Invoice.objects.get()
    assert set(invoice.lines.values_list("ticket_id", flat=True)) == {big.pk, small.pk}
    assert invoice.total == D("1234.56")


def test_the_browser_money_formatter_matches_format_money(live_server, page, login, roles):
    login(UserFactory(username="cal", role=BILLING))
    values = [
        "0.00", "0.05", "5", "12.3", "999.99", "1000.00", "1234.56", "1234567.89",
        "9999999999.99", "-5.00", "-1234.5", "-0.00",
    ]  # fmt: skip
    shown = page.evaluate(
        "values => values.map(v => window.Shop.money.format(window.Shop.money.toCents(v)))", values
    )
    assert shown == [format_money(D(v)) for v in values]


def test_create_filters_keep_ticks_and_show_errors_without_javascript(live_server, browser, roles):
    agent = BillingAgentFactory(company_name="Harbor Insurance")
    north, big, small, away = _picker(agent)
    user = UserFactory(username="dee", role=BILLING)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/invoices/new/?payer=agent-{agent.pk}")

        page.locator(f"#ticket-{big.pk}").check()
        page.get_by_label("Location", exact=True).select_option(label="North")
        page.get_by_role("button", name="Apply filters").click()
        expect(page.locator(f"#ticket-{away.pk}")).to_have_count(0)
        expect(page.locator(f"#ticket-{big.pk}")).to_be_checked()
        expect(page.locator(f"#ticket-{small.pk}")).not_to_be_checked()
        expect(page.locator("[data-ticked-total]")).to_have_text("$1,200.00")

        today = timezone.localdate()
        page.get_by_label("From", exact=True).fill(today.isoformat())
        page.get_by_label("To", exact=True).fill((today - timedelta(days=3)).isoformat())
        page.get_by_role("button", name="Apply filters").click()
        expect(page.locator("#id_date_to_error")).to_have_text(
            "The end date is before the start date."
        )
        expect(page.get_by_label("Location", exact=True)).to_have_value(str(north.pk))
        expect(page.locator(f"#ticket-{away.pk}")).to_have_count(0)
        expect(page.locator(f"#ticket-{big.pk}")).to_be_checked()
    finally:
        context.close()
