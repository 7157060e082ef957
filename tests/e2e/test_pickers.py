"""The search-as-you-type pickers in Chromium: choose a ticket's agent with the keyboard
only, filter the ticket list by typing an agent's name, pick a payer for a new invoice."""

import re

import pytest
from playwright.sync_api import expect

from core.roles import BILLING, FRONT_DESK
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    TicketFactory,
    UserFactory,
    agent_ticket,
    waiting_ticket,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agents(db):
    """Forty agents (more than a picker shows), one the journeys look for, one inactive."""
    BillingAgentFactory.create_batch(40)
    BillingAgentFactory(company_name="Harbor Closed Agency", inactive=True)
    return BillingAgentFactory(company_name="Harbor Insurance Group")


def listbox_of(page, label):
    return page.locator(f"#{page.get_by_label(label, exact=True).get_attribute('aria-controls')}")


def test_keyboard_only_choose_a_tickets_agent_and_save(live_server, login, agents):
    clerk = UserFactory(username="e2e-picker-desk", role=FRONT_DESK)
    ticket = agent_ticket(BillingAgentFactory(company_name="Zenith Schools"))
    page = login(clerk)
    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")
    box = page.get_by_label("Billing agent", exact=True)
    expect(box).to_have_value("Zenith Schools")
    box.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("harbor")
    listbox = listbox_of(page, "Billing agent")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    option = listbox.get_by_role("option", name="Harbor Insurance Group")
    expect(option).to_be_visible()
    # Only the active Harbor is offered.
    expect(listbox.get_by_role("option")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    page.keyboard.press("Enter")  # picks
    expect(box).to_have_value("Harbor Insurance Group")
    expect(listbox).to_be_hidden()
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_test_id("ticket-agent")).to_contain_text("Harbor Insurance Group")
    ticket.refresh_from_db()
    assert ticket.billing_agent == agents


def test_escape_closes_and_the_list_never_shows_more_than_the_limit(live_server, login, agents):
    clerk = UserFactory(username="e2e-picker-esc", role=FRONT_DESK)
    ticket = agent_ticket(agents)
    page = login(clerk)
    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")
    box = page.get_by_label("Billing agent", exact=True)
    box.fill("")
    listbox = listbox_of(page, "Billing agent")
    expect(listbox.get_by_role("option")).to_have_count(15)
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")


def test_filter_the_ticket_list_by_typing_an_agent_name(live_server, login, agents):
    clerk = UserFactory(username="e2e-picker-list", role=FRONT_DESK)
    mine = agent_ticket(agents)
    other = TicketFactory(customer=CustomerFactory())
    page = login(clerk)
    page.goto(f"{live_server.url}/tickets/")
    table = page.get_by_role("table", name="Tickets")
    expect(table).to_contain_text(other.number)
    box = page.get_by_label("Billing agent", exact=True)
    box.fill("insurance gr")
    listbox_of(page, "Billing agent").get_by_role("option", name="Harbor Insurance Group").click()
    expect(page).to_have_url(re.compile(rf"billing_agent={agents.pk}"))
    expect(table).not_to_contain_text(other.number)
    expect(table).to_contain_text(mine.number)
    page.reload()  # the filter survives a reload, shown as the picker's text
    expect(page.get_by_label("Billing agent", exact=True)).to_have_value("Harbor Insurance Group")
    expect(table).not_to_contain_text(other.number)


def test_pick_a_payer_on_the_invoice_create_page(live_server, login, agents):
    clerk = UserFactory(username="e2e-picker-billing", role=BILLING)
    ticket = waiting_ticket(agents, customer=CustomerFactory(first_name="Ada", last_name="Lee"))
    page = login(clerk)
    page.goto(f"{live_server.url}/invoices/new/")
    box = page.get_by_label("Find a billing agent or customer", exact=True)
    box.fill("harbor ins")
    listbox = listbox_of(page, "Find a billing agent or customer")
    expect(listbox.get_by_role("option", name="Harbor Insurance Group")).to_be_visible()
    box.press("ArrowDown")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"payer=agent-{agents.pk}"))
    expect(page.locator("#ticket-table")).to_contain_text(ticket.number)
    expect(page.locator("[data-payer]")).to_contain_text("Harbor Insurance Group")
    assert Ticket.objects.get(pk=ticket.pk).status == "waiting_for_payment"


def test_filter_the_invoice_list_by_typing_a_payer(live_server, login, agents):
    clerk = UserFactory(username="e2e-picker-invoices", role=BILLING)
    mine = InvoiceFactory(billing_agent=agents)
    other = InvoiceFactory(billing_agent=BillingAgentFactory(company_name="Zenith Schools"))
    page = login(clerk)
    page.goto(f"{live_server.url}/invoices/")
    table = page.get_by_role("table", name="Invoices")
    expect(table).to_contain_text(other.number)
    box = page.get_by_label("Payer", exact=True)
    box.fill("harbor")
    listbox_of(page, "Payer").get_by_role("option", name="Harbor Insurance Group").click()
    expect(page).to_have_url(re.compile(rf"payer=agent-{agents.pk}"))
    expect(table).not_to_contain_text(other.number)
    expect(table).to_contain_text(mine.number)


def test_choosing_a_customers_agent_offers_to_move_its_open_tickets(live_server, login, agents):
    clerk = UserFactory(username="e2e-picker-customer", role=FRONT_DESK)
    old = BillingAgentFactory(company_name="Zenith Schools")
    customer = CustomerFactory(first_name="Rosa", last_name="Ramirez", billing_agent=old)
    agent_ticket(old, customer=customer)
    page = login(clerk)
    page.goto(f"{live_server.url}/customers/{customer.pk}/edit/")
    box = page.get_by_label("Billing agent", exact=True)
    expect(box).to_have_value("Zenith Schools")
    box.fill("harbor")
    listbox_of(page, "Billing agent").get_by_role("option", name="Harbor Insurance Group").click()
    offer = page.get_by_label(re.compile("Also move Rosa Ramirez"))
    expect(offer).to_be_visible()
    offer.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("customer-agent")).to_contain_text("Harbor Insurance Group")
    customer.refresh_from_db()
    assert customer.billing_agent == agents
    assert Ticket.objects.get(customer=customer).billing_agent == agents
