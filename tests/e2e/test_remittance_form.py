"""Browser journeys of the remittance form's guardrails (issue 10): typing replaces the
amount, a large overpayment and a repeated cheque ask first, a line typed while a proposal
is on its way keeps its value, and account credit pays what it can on the first submit."""

import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import BILLING, MANAGER, ensure_role_groups
from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import Remittance, RemittanceAllocation
from tests.factories import BillingAgentFactory, LocationFactory, UserFactory, waiting_ticket

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def roles(transactional_db):
    ensure_role_groups()


@pytest.fixture
def setup(roles):
    """An agent's invoice of 150 + 90 = 240 (oldest first) and a billing clerk."""
    clerk = UserFactory(username="bea", role=BILLING)
    agent = BillingAgentFactory(company_name="Harbor Insurance", net_terms_days=30)
    downtown = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
    tickets = [
        waiting_ticket(agent, location=downtown, items=[("Repair", 1, price, True)])
        for price in ("150.00", "90.00")
    ]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=clerk
    )
    lines = list(invoice.lines.order_by("ticket__created_at", "ticket_id"))
    return clerk, agent, invoice, lines


def _open(page, live_server, invoice):
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/remittance/")


def test_typing_replaces_the_amount_and_a_large_overpayment_needs_a_tick(
    live_server, page, login, setup
):
    clerk, agent, invoice, lines = setup
    login(clerk)
    _open(page, live_server, invoice)
    amount = page.get_by_label("Amount")
    expect(amount).to_have_value("")
    page.get_by_role("link", name="Pay full balance").click()
    expect(amount).to_have_value("240.00")
    expect(page.locator(f"#id_line-{lines[1].pk}")).to_have_value("90.00")
    # A click into the filled field selects it: typing replaces, never prepends.
    page.get_by_label("Reference").click()
    amount.click()
    page.keyboard.type("400")
    expect(amount).to_have_value("400")
    amount.fill("400240.00")
    expect(page.locator("[data-figure=to-credit]")).to_have_text("$400,000.00")
    expect(page.locator("[data-large-credit]")).to_be_visible()
    page.get_by_label("Reference").fill("CHQ-77")
    page.get_by_role("button", name="Record payment").click()

    box = page.get_by_label(
        "This records $400,000.00 as account credit for Harbor Insurance. Tick to confirm."
    )
    expect(box).to_be_visible()
    assert not Remittance.objects.exists()
    box.check()
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Paid")
    assert credit_balance(account=account_for(agent)) == D("400000.00")


@pytest.mark.parametrize(
    ("server_delay", "key_delay"),
    # a proposal landing before, overtaken by, or between the line's keystrokes
    [(0, 0), (0.15, 0), (0.6, 0), (0.15, 400)],
)
def test_a_line_typed_right_after_the_amount_keeps_its_value(
    live_server, page, login, setup, monkeypatch, server_delay, key_delay
):
    """However late the proposal for the amount lands (before the line's own request, after
    it, or overtaken by it), the typed line keeps its value and the figures agree."""
    clerk, _agent, invoice, lines = setup
    propose = services.propose_remittance

    def slow_propose(**kwargs):
        time.sleep(server_delay)
        return propose(**kwargs)

    monkeypatch.setattr(services, "propose_remittance", slow_propose)
    login(clerk)
    _open(page, live_server, invoice)
    first, second = (page.locator(f"#id_line-{line.pk}") for line in lines)
    page.get_by_label("Amount").click()
    page.keyboard.type("150")
    second.click()  # the amount's change: a proposal is on its way while the line is typed
    page.keyboard.type("50", delay=key_delay)
    page.wait_for_load_state("networkidle")
    expect(second).to_have_value("50")
    expect(first).to_have_value("100.00")  # untouched: re-proposed around the typed line
    expect(page.locator("[data-figure=allocated]")).to_have_text("$150.00")
    expect(page.locator("[data-figure=to-credit]")).to_have_text("$0.00")
    page.get_by_label("Reference").fill("CHQ-5")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Partially paid")
    shares = dict(
        RemittanceAllocation.objects.values_list("invoice_line_id", "amount").order_by("id")
    )
    assert shares == {lines[0].pk: D("100.00"), lines[1].pk: D("50.00")}


def test_back_then_record_asks_before_recording_the_same_cheque_twice(
    live_server, page, login, setup
):
    clerk, _agent, invoice, _lines = setup
    login(clerk)
    _open(page, live_server, invoice)
    page.get_by_label("Amount").fill("60.00")
    page.get_by_label("Reference").fill("CHQ-1001")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Partially paid")

    page.go_back()
    page.reload()  # the page after Back: a fresh form
    page.get_by_label("Amount").fill("60.00")
    page.get_by_label("Reference").fill("CHQ-1001")
    page.get_by_role("button", name="Record payment").click()
    box = page.get_by_label("Tick to record it again as a second payment.")
    expect(box).to_be_visible()
    expect(page.locator("[data-earlier-payment]").get_by_role("link")).to_have_text(invoice.number)
    assert Remittance.objects.count() == 1
    box.check()
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Partially paid")
    assert Remittance.objects.count() == 2


def test_account_credit_fills_what_the_credit_can_pay_and_records_first_time(
    live_server, page, login, setup
):
    clerk, agent, invoice, lines = setup
    manager = UserFactory(username="max", role=MANAGER)
    adjust_credit(account=account_for(agent), amount=D("40.00"), reason="Goodwill", by=manager)
    login(clerk)
    _open(page, live_server, invoice)
    expect(page.locator("body")).to_contain_text("Account credit can pay $40.00 of this invoice.")
    page.get_by_role("link", name="Pay full balance").click()
    page.get_by_label("Method").select_option("account_credit")
    expect(page.get_by_label("Amount")).to_have_value("40.00")
    expect(page.locator(f"#id_line-{lines[0].pk}")).to_have_value("40.00")
    expect(page.locator("[data-figure=from-credit]")).to_have_text("$40.00")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("[data-invoice-status]")).to_have_text("Partially paid")
    assert Remittance.objects.get().amount == D("40.00")
    assert credit_balance(account=account_for(agent)) == D("0.00")
