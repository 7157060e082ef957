"""Journeys on the billing agent pages in Chromium: add, find, edit, deactivate,
reactivate, and remove a customer and a ticket from the View page."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from billing_agents.models import BillingAgent
from core.roles import MANAGER, ROLE_PERMISSIONS
from customers.models import Customer
from tests.factories import BillingAgentFactory, CustomerFactory, UserFactory, agent_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def manager(db):
    """A Manager; the group is rebuilt because transactional tests flush the data migration's."""
    group, _ = Group.objects.get_or_create(name=MANAGER)
    codenames = [perm.split(".") for perm in ROLE_PERMISSIONS[MANAGER]]
    group.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in codenames
        ]
    )
    return UserFactory(username="e2e-manager", role=MANAGER)


def agent_row(page, company):
    return (
        page.get_by_role("table", name="Billing agents").get_by_role("row").filter(has_text=company)
    )


def test_add_an_agent_find_it_and_edit_it(live_server, login, manager):
    BillingAgentFactory(company_name="Unrelated Logistics")
    page = login(manager)
    page.goto(f"{live_server.url}/billing-agents/")
    page.get_by_role("link", name="Add Billing Agent").click()

    page.get_by_label("Company name").fill("Harbor Insurance Group")
    page.get_by_label("Contact first name").fill("Ann")
    page.get_by_label("Contact last name").fill("Lee")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Credit limit").fill("2500")
    page.get_by_role("button", name="Add Billing Agent").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    page.get_by_label("Email").fill("ap@harbor.example")
    page.get_by_role("button", name="Add Billing Agent").click()

    expect(page.get_by_role("heading", name="Harbor Insurance Group")).to_be_visible()
    expect(page.locator("[data-figure=credit-limit]")).to_have_text("$2,500.00")

    page.goto(f"{live_server.url}/billing-agents/")
    page.get_by_label("Search").fill("harbor")
    expect(page).to_have_url(
        f"{live_server.url}/billing-agents/?q=harbor&status=active&sort=company"
    )
    expect(agent_row(page, "Harbor Insurance Group")).to_have_count(1)
    expect(agent_row(page, "Unrelated Logistics")).to_have_count(0)

    # Reload keeps the search (state lives in the URL).
    page.reload()
    expect(page.get_by_label("Search")).to_have_value("harbor")
    expect(agent_row(page, "Unrelated Logistics")).to_have_count(0)

    agent_row(page, "Harbor Insurance Group").get_by_role("link", name="Edit").click()
    page.get_by_label("Phone").fill("555-0199")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Harbor Insurance Group was saved.")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()
    history = page.get_by_role("list", name="Change history")
    expect(history).to_contain_text("Phone: — → 555-0199")
    expect(history).to_contain_text("Created")
    assert BillingAgent.objects.get(company_name="Harbor Insurance Group").phone == "555-0199"


def test_deactivate_with_the_confirm_dialog_then_reactivate(live_server, login, manager):
    agent = BillingAgentFactory(company_name="Summit Property Management")
    customer = CustomerFactory(billing_agent=agent, first_name="Dana", last_name="Ortiz")
    agent_ticket(agent, customer=customer, items=[("Screen", 1, "120.00", False)])
    other = CustomerFactory(first_name="Other", billing_agent=None)
    page = login(manager)
    page.goto(f"{live_server.url}/billing-agents/")

    row = agent_row(page, "Summit Property Management")
    row.get_by_role("link", name="Deactivate").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("$120.00")
    expect(dialog).to_contain_text("Customers")
    dialog.get_by_role("button", name="Deactivate").click()

    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Inactive")
    expect(row.get_by_role("link", name="Reactivate")).to_be_visible()
    expect(page.locator("#toast-area")).to_contain_text("was deactivated")
    assert agent not in BillingAgent.objects.active()
    customer.refresh_from_db()
    assert customer.billing_agent == agent  # links and history are kept

    # Not offered in the customer's agent picker any more.
    try:
        edit_url = reverse("customers:customer_edit", args=[other.pk])
    except NoReverseMatch:
        edit_url = None  # the customer pages are built in another issue
    if edit_url:
        page.goto(f"{live_server.url}{edit_url}")
        picker = page.get_by_label("Billing agent", exact=True)
        picker.fill("Summit Property")
        suggestions = page.locator("#" + picker.get_attribute("aria-controls"))
        expect(suggestions).to_contain_text("No match")
    page.goto(f"{live_server.url}/billing-agents/?status=active")
    expect(agent_row(page, "Summit Property Management")).to_have_count(0)

    page.goto(f"{live_server.url}/billing-agents/?status=inactive")
    row = agent_row(page, "Summit Property Management")
    row.get_by_role("link", name="Reactivate").click()
    dialog.get_by_role("button", name="Reactivate").click()
    expect(row).to_contain_text("Active")
    expect(row.get_by_role("link", name="Deactivate")).to_be_visible()
    assert agent in BillingAgent.objects.active()
    if edit_url:
        page.goto(f"{live_server.url}{edit_url}")
        picker = page.get_by_label("Billing agent", exact=True)
        picker.fill("Summit Property")
        suggestions = page.locator("#" + picker.get_attribute("aria-controls"))
        expect(suggestions.get_by_role("option", name="Summit Property Management")).to_be_visible()


def test_view_page_removes_a_customer_and_a_ticket(live_server, login, manager):
    agent = BillingAgentFactory(company_name="Lakeside School District")
    leaving = CustomerFactory(billing_agent=agent, first_name="Leaving", last_name="Person")
    staying = CustomerFactory(billing_agent=agent, first_name="Staying", last_name="Person")
    ticket = agent_ticket(agent, customer=staying, items=[("Battery", 1, "80.00", False)])
    kept = agent_ticket(agent, customer=staying, items=[("Case", 1, "20.00", False)])
    page = login(manager)
    page.goto(f"{live_server.url}/billing-agents/")
    agent_row(page, "Lakeside School District").get_by_role("link", name="View").click()
    expect(page.locator("[data-figure=open-balance]")).to_have_text("$100.00")

    customers = page.get_by_role("table", name="Customers")
    customers.get_by_role("link", name="Remove Leaving Person from agent").click()
    dialog = page.locator("#confirm-modal")
    dialog.get_by_role("button", name="Remove from agent").click()
    expect(dialog).to_be_hidden()
    expect(customers).not_to_contain_text("Leaving")
    expect(customers).to_contain_text("Staying")
    expect(page.locator("#toast-area")).to_contain_text("was removed from")
    assert Customer.objects.get(pk=leaving.pk).billing_agent is None

    tickets = page.get_by_role("table", name="Tickets")
    tickets.get_by_role("link", name=f"Remove {ticket.number} from agent").click()
    dialog.get_by_role("button", name="Remove from agent").click()
    expect(tickets).not_to_contain_text(ticket.number)
    expect(tickets).to_contain_text(kept.number)
    expect(page.locator("[data-figure=open-balance]")).to_have_text("$20.00")
    ticket.refresh_from_db()
    assert ticket.billing_agent is None
    assert ticket.balance_due == Decimal("80.00")  # the ticket itself is untouched
