"""Browser journeys of the corrections (issue 10): a wrong cheque voided and the right
one recorded, as if the wrong one never happened; a write-off and its void; credit
refunded from the agent page."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import MANAGER, ensure_role_groups
from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import CreditKind, CreditTransaction, InvoiceStatus, Remittance
from tests.factories import (
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
    ensure_role_groups()


@pytest.fixture
def setup(roles):
    manager = UserFactory(username="morgan", role=MANAGER)
    agent = BillingAgentFactory(company_name="Lakeside School District", net_terms_days=30)
    downtown = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
    ticket = waiting_ticket(agent, location=downtown, items=[("Screen", 1, "637.12", True)])
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=manager
    )
    return manager, agent, ticket, invoice


def _record_payment(page, amount: str, reference: str) -> None:
    """Fill the remittance form and record it, confirming the form's slip checks (large
    overpayment, repeated reference) if it asks."""
    page.get_by_role("link", name="Remittance").click()
    field = page.get_by_label("Amount", exact=True)
    field.fill(amount)
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Record payment").click()
    done_or_asked = page.locator("[data-invoice-status], [data-confirm-slip]").first
    done_or_asked.wait_for()
    if page.locator("[data-confirm-slip]").count():
        for box in page.locator("[data-confirm-slip] input[type=checkbox]").all():
            box.check()
        page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_be_visible()


def test_a_wrong_cheque_voided_then_the_right_one_is_as_if_it_never_happened(
    live_server, page, login, setup
):
    manager, agent, ticket, invoice = setup
    login(manager)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")

    # --- the wrong cheque: 400,637.12 on a 637.12 invoice -------------------------------
    _record_payment(page, "400637.12", "CHQ-2001")
    expect(page.locator("[data-invoice-status]")).to_have_text("Paid")
    expect(page.locator("[data-figure=credit]")).to_have_text("$400,000.00")
    wrong = Remittance.objects.get()

    # --- void it, with a reason ---------------------------------------------------------
    row = page.locator(f"#remittance-{wrong.pk}")
    row.get_by_role("link", name=re.compile("Void")).click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("What changes")
    dialog.get_by_role("button", name="Void payment").click()
    expect(dialog).to_contain_text("Say why")  # the reason is required
    dialog.get_by_label("Reason").fill("Keyed 400637.12 instead of 637.12")
    dialog.get_by_role("button", name="Void payment").click()

    expect(page.locator("[data-invoice-status]")).to_have_text("Open")
    expect(page.locator("[data-figure=credit]")).to_have_text("$0.00")
    expect(page.locator("[data-ticket-status]")).to_have_text(["Invoiced"])
    row = page.locator(f"#remittance-{wrong.pk}")
    expect(row.locator("del").first).to_be_visible()
    expect(row).to_contain_text("Keyed 400637.12 instead of 637.12")

    # --- the right cheque ---------------------------------------------------------------
    _record_payment(page, "637.12", "CHQ-2001")
    expect(page.locator("[data-invoice-status]")).to_have_text("Paid")
    expect(page.locator("[data-figure=paid]")).to_have_text("$637.12")
    expect(page.locator("[data-figure=balance]")).to_have_text("$0.00")
    expect(page.locator("[data-figure=credit]")).to_have_text("$0.00")
    expect(page.locator("[data-figure=overpaid]")).to_have_text("$0.00")
    expect(page.locator("[data-ticket-status]")).to_have_text(["Closed"])
    # The void stays visible, struck through, with its reason.
    row = page.locator(f"#remittance-{wrong.pk}")
    expect(row.locator("del").first).to_be_visible()
    expect(row).to_contain_text("Keyed 400637.12 instead of 637.12")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_paid == D("637.12")
    assert credit_balance(account=invoice.account) == 0
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.CLOSED and ticket.balance_due == 0
    page.goto(f"{live_server.url}{agent.get_absolute_url()}")
    expect(page.locator("[data-figure=credit-balance]")).to_have_text("$0.00")


def test_write_off_then_void_it_and_refund_credit_from_the_agent_page(
    live_server, page, login, setup
):
    manager, agent, _ticket, invoice = setup
    login(manager)
    page.goto(f"{live_server.url}{invoice.get_absolute_url()}")

    page.get_by_role("link", name="Write off").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("$637.12")
    dialog.get_by_label("Reason").fill("School closed down")
    dialog.get_by_role("button", name="Write off").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Written off")
    expect(page.locator("[data-figure=written-off]")).to_have_text("$637.12")
    expect(page.locator("[data-figure=paid]")).to_have_text("$0.00")
    expect(page.locator("[data-ticket-status]")).to_have_text(["Closed"])

    page.get_by_role("link", name="Void write-off").click()
    dialog.get_by_label("Reason").fill("They paid after all")
    dialog.get_by_role("button", name="Void write-off").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Open")
    expect(page.locator("#write-offs del")).to_be_visible()
    expect(page.locator("#write-offs")).to_contain_text("They paid after all")
    expect(page.locator("[data-ticket-status]")).to_have_text(["Invoiced"])

    # --- credit refunded to the agent ------------------------------------------------
    adjust_credit(account=invoice.account, amount=D("75.00"), reason="Goodwill", by=manager)
    page.goto(f"{live_server.url}{agent.get_absolute_url()}")
    page.get_by_role("link", name="Refund credit").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("$75.00")
    dialog.get_by_label("Amount").fill("80.00")
    dialog.get_by_label("Reason").fill("Account closed")
    dialog.get_by_role("button", name="Record refund").click()
    expect(dialog).to_contain_text("of credit is available")
    dialog.get_by_label("Amount").fill("75.00")
    dialog.get_by_label("Reference").fill("CHQ-9")
    dialog.get_by_role("button", name="Record refund").click()
    expect(page.locator("[data-figure=credit-balance]")).to_have_text("$0.00")
    expect(page.locator("#credit-section")).to_contain_text("Refund to payer")
    assert CreditTransaction.objects.get(kind=CreditKind.REFUND).amount == D("-75.00")


def test_a_manager_refunds_a_direct_customers_credit_from_the_customer_page(
    live_server, login, page, roles
):
    manager = UserFactory(username="morgan", role=MANAGER)
    customer = CustomerFactory(first_name="Dora", last_name="Diaz", net_terms_days=15)
    account = account_for(customer)
    adjust_credit(account=account, amount=D("40.00"), reason="Goodwill", by=manager)
    login(manager)
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    page.get_by_role("link", name="Refund credit").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("$40.00")
    dialog.get_by_label("Amount").fill("50.00")
    dialog.get_by_label("Reason").fill("Moved away")
    dialog.get_by_role("button", name="Record refund").click()
    expect(dialog).to_contain_text("of credit is available")
    dialog.get_by_label("Amount").fill("40.00")
    dialog.get_by_role("button", name="Record refund").click()
    expect(page.locator("#customer-credit [data-figure=credit-balance]")).to_have_text("$0.00")
    assert credit_balance(account=account) == D("0.00")
