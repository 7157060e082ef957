"""Journeys on the customer and ticket pages in Chromium: set a customer's billing agent,
sell to that customer, and take a repair through to Waiting for Payment with a deposit
and a discount."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.roles import FRONT_DESK
from customers.models import Customer
from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, UserFactory
from tickets.models import Ticket
from tickets.transitions import Kind, Status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clerk(db):
    return UserFactory(username="e2e-frontdesk", role=FRONT_DESK)


@pytest.fixture
def shop(db):
    """A store, a billing agent and the customer the journeys look up."""
    LocationFactory(name="Downtown", tax_rate_percent=Decimal("8.250"))
    agent = BillingAgentFactory(company_name="Harbor Insurance Group")
    BillingAgentFactory(company_name="Closed Agency", inactive=True)
    customer = CustomerFactory(first_name="Rosa", last_name="Ramirez", phone="555-0199")
    CustomerFactory(first_name="Bob", last_name="Stone")
    return agent, customer


def status_badge(page):
    return page.locator("#ticket-workspace h1 [data-testid=ticket-status]")


def settled(page):
    """Wait until the workspace swapped in by the last htmx answer has settled: htmx binds
    the new lookup's triggers only then, so typing earlier sends no search."""
    expect(page.locator("#ticket-workspace")).not_to_have_class(
        re.compile(r"htmx-(added|settling)")
    )


def test_look_up_a_customer_and_set_its_billing_agent(live_server, login, clerk, shop):
    agent, customer = shop
    page = login(clerk)
    page.goto(f"{live_server.url}/customers/")
    page.get_by_label("Search customers").fill("ramirez")
    expect(page).to_have_url(re.compile(r"/customers/\?q=ramirez$"))
    table = page.get_by_role("table", name="Customers")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Rosa
    page.reload()  # the search survives a reload
    expect(page.get_by_label("Search customers")).to_have_value("ramirez")
    expect(table.get_by_role("row")).to_have_count(2)

    page.get_by_role("link", name="Edit Rosa Ramirez").click()
    picker = page.get_by_label("Billing agent", exact=True)
    suggestions = page.locator("#" + picker.get_attribute("aria-controls"))
    picker.fill("agency")  # the inactive agent is not offered
    expect(suggestions).to_contain_text("No match")
    picker.fill("harbor")
    suggestions.get_by_role("option", name="Harbor Insurance Group").click()
    expect(picker).to_have_value("Harbor Insurance Group")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Rosa Ramirez")).to_be_visible()
    expect(page.get_by_test_id("customer-agent")).to_contain_text("Harbor Insurance Group")
    expect(page.get_by_text("Rosa Ramirez was saved.")).to_be_visible()
    customer.refresh_from_db()
    assert customer.billing_agent == agent


def test_quick_sale_for_that_customer_reaches_waiting_for_payment(live_server, login, clerk, shop):
    agent, customer = shop
    Customer.objects.filter(pk=customer.pk).update(billing_agent=agent)
    page = login(clerk)
    page.goto(f"{live_server.url}/tickets/")
    page.get_by_role("link", name="New ticket").click()
    page.get_by_label("Quick sale").check()
    page.get_by_label("Location").select_option(label="Downtown")
    page.get_by_role("button", name="Create ticket").click()
    expect(status_badge(page)).to_have_text("Open")
    # Without a customer the agent cannot be set, and the page says why.
    expect(page.get_by_text("Attach a customer first")).to_be_visible()
    expect(page.get_by_role("button", name="Waiting for Payment")).to_have_count(0)

    page.get_by_label("Find customer").fill("ramirez")
    page.get_by_role("button", name="Attach Rosa Ramirez").click()
    expect(page.get_by_test_id("ticket-customer")).to_contain_text("Rosa Ramirez")
    expect(page.get_by_test_id("ticket-agent")).to_contain_text("Harbor Insurance Group")

    page.get_by_role("button", name="Waiting for Payment").click()
    expect(status_badge(page)).to_have_text("Waiting for Payment")
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.status, ticket.billing_agent) == (
        Kind.QUICK_SALE,
        Status.WAITING_FOR_PAYMENT,
        agent,
    )


def test_repair_with_deposit_and_discount_reaches_waiting_for_payment(
    live_server, login, clerk, shop
):
    page = login(clerk)
    page.goto(f"{live_server.url}/tickets/new/")
    page.get_by_label("Repair ticket").check()
    page.get_by_label("Location").select_option(label="Downtown")
    page.get_by_label("Device").fill("iPhone 13")
    page.get_by_label("Problem description").fill("Cracked screen")
    page.get_by_role("button", name="Create ticket").click()
    expect(status_badge(page)).to_have_text("New")

    page.get_by_label("Description", exact=True).fill("Screen replacement")
    page.get_by_label("Quantity").fill("1")
    page.get_by_label("Unit price").fill("120")
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("[data-figure=subtotal]")).to_have_text("$120.00")

    # A line added by mistake is removed (after confirming); the history keeps it.
    page.get_by_label("Description", exact=True).fill("Screen protector")
    page.get_by_label("Quantity").fill("1")
    page.get_by_label("Unit price").fill("15")
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("[data-figure=subtotal]")).to_have_text("$135.00")
    page.get_by_role("button", name="Remove Screen protector").click()
    confirm = page.locator("#confirm-modal")
    expect(confirm).to_contain_text("Remove “Screen protector”")
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-figure=subtotal]")).to_have_text("$120.00")
    removed = page.locator("#ticket-history [data-history=item-removed]")
    expect(removed).to_contain_text("Screen protector")
    expect(removed).to_contain_text(f"by {clerk.get_full_name()}")

    # A discount above the subtotal is refused beside the field, and nothing changes.
    page.get_by_label("Discount value").fill("500")
    page.get_by_role("button", name="Apply discount").click()
    expect(page.get_by_text("cannot be more than the subtotal")).to_be_visible()
    expect(page.locator("[data-figure=discount]")).to_have_text("$0.00")

    page.get_by_label("Discount type").select_option(label="Amount")
    page.get_by_label("Discount value").fill("20")
    page.get_by_role("button", name="Apply discount").click()
    expect(page.locator("[data-figure=total]")).to_have_text("$108.25")  # 100 + 8.25 % tax

    page.get_by_label("Deposit amount").fill("50")
    page.get_by_label("Payment method").select_option(label="Card")
    page.get_by_label("Reference").fill("auth 4411")
    page.get_by_role("button", name="Record deposit").click()
    expect(page.locator("[data-figure=paid]")).to_have_text("$50.00")
    expect(page.locator("[data-figure=balance-due]")).to_have_text("$58.25")

    settled(page)
    page.get_by_label("Find customer").fill("555-0199")
    page.get_by_role("button", name="Attach Rosa Ramirez").click()
    expect(page.get_by_test_id("ticket-customer")).to_contain_text("Rosa Ramirez")

    expect(page.get_by_role("button", name="Waiting for Payment")).to_have_count(0)
    for step in ("In Repair", "Ready for Pickup"):
        page.get_by_role("button", name=step, exact=True).click()
        expect(status_badge(page)).to_have_text(step)
    page.get_by_role("button", name="Waiting for Payment").click()
    expect(status_badge(page)).to_have_text("Waiting for Payment")
    expect(page.locator("[data-figure=balance-due]")).to_have_text("$58.25")

    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.discount_amount, ticket.amount_paid, ticket.balance_due) == (
        Status.WAITING_FOR_PAYMENT,
        Decimal("20.00"),
        Decimal("50.00"),
        Decimal("58.25"),
    )
    fresh = ticket.fresh_totals()
    assert fresh.balance_due == ticket.balance_due
