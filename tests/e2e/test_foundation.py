"""Journey: a clerk logs in with a demo login, sees the dashboard and uses the menu."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from demo.management.commands.seed_demo import DEMO_PASSWORD


@pytest.mark.django_db(transaction=True)
def test_demo_login_reaches_dashboard_and_navigates(live_server, page):
    call_command("seed_demo", stdout=StringIO())
    page.goto(f"{live_server.url}/tickets/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/tickets/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/tickets/")

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("table", name="Open tickets by status")).to_contain_text("In Repair")

    for label, path in [
        ("Customers", "/customers/"),
        ("Billing Agents", "/billing-agents/"),
        ("Invoices", "/invoices/"),
        ("Tickets", "/tickets/"),
    ]:
        nav.get_by_role("link", name=label).click()
        expect(page).to_have_url(f"{live_server.url}{path}")

    nav.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")


@pytest.mark.django_db(transaction=True)
def test_wrong_password_is_refused_in_the_browser(live_server, page):
    call_command("seed_demo", stdout=StringIO())
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("frontdesk")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
