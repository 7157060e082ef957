"""Issue 10, point 6, in Chromium: messages and item removal without JavaScript, the agent
list on a phone, focus after a dialog and a sort, and the skip link."""

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from core.roles import FRONT_DESK, MANAGER, ROLE_PERMISSIONS
from tests.factories import PASSWORD, BillingAgentFactory, TicketFactory, UserFactory, agent_ticket
from tickets.models import TicketItem

pytestmark = pytest.mark.django_db(transaction=True)


def _role_user(username, role):
    """A user in `role`; the group is rebuilt because transactional tests flush it."""
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in (perm.split(".") for perm in ROLE_PERMISSIONS[role])
        ]
    )
    return UserFactory(username=username, role=role)


@pytest.fixture
def manager(db):
    return _role_user("e2e-manager", MANAGER)


@pytest.fixture
def clerk(db):
    return _role_user("e2e-frontdesk", FRONT_DESK)


@pytest.fixture
def no_js_page(browser, live_server):
    """A page in a context with JavaScript turned off, and a way to log in on it."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    def login(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield login
    context.close()


# --- without JavaScript -------------------------------------------------------------------


def test_without_js_the_saved_message_is_visible(live_server, no_js_page, manager):
    page = no_js_page(manager)
    page.goto(f"{live_server.url}/billing-agents/new/")
    page.get_by_label("Company name").fill("Harbor Insurance Group")
    page.get_by_role("button", name="Add Billing Agent").click()

    expect(page.get_by_role("heading", name="Harbor Insurance Group")).to_be_visible()
    expect(page.get_by_text("Harbor Insurance Group was added.")).to_be_visible()


def test_without_js_a_duplicate_name_is_refused_beside_the_field(live_server, no_js_page, manager):
    existing = BillingAgentFactory(company_name="Harbor Insurance Group")
    page = no_js_page(manager)
    page.goto(f"{live_server.url}/billing-agents/new/")
    page.get_by_label("Company name").fill("harbor insurance group ")
    page.get_by_role("button", name="Add Billing Agent").click()

    error = page.locator("#id_company_name_error")
    expect(error).to_contain_text("already exists")
    error.get_by_role("link", name="Harbor Insurance Group").click()
    expect(page).to_have_url(f"{live_server.url}{existing.get_absolute_url()}")


def test_without_js_removing_an_item_asks_first(live_server, no_js_page, clerk):
    ticket = TicketFactory(items=[("Screen protector", 1, "15.00", False)])
    page = no_js_page(clerk)
    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")

    page.get_by_role("button", name="Remove Screen protector").click()
    expect(page.get_by_role("heading", name="Remove “Screen protector”?")).to_be_visible()
    assert TicketItem.objects.filter(ticket=ticket).count() == 1
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("[data-figure=subtotal]")).to_have_text("$15.00")

    page.get_by_role("button", name="Remove Screen protector").click()
    page.get_by_role("button", name="Remove item").click()
    expect(page.locator("[data-figure=subtotal]")).to_have_text("$0.00")
    expect(page.get_by_text("Removed “Screen protector”.")).to_be_visible()
    assert not TicketItem.objects.filter(ticket=ticket).exists()


# --- the agent list on a phone ------------------------------------------------------------


def test_agent_list_fits_a_390_px_phone(live_server, login, manager, page):
    agent = BillingAgentFactory(
        company_name="Harbor Insurance Group of Greater Springfield",
        email="accounts.payable.department@harbor-insurance.example",
    )
    agent_ticket(agent, items=[("Screen", 1, "1234.56", False)])
    page.set_viewport_size({"width": 390, "height": 844})
    login(manager)
    page.goto(f"{live_server.url}/billing-agents/")

    row = page.get_by_role("table", name="Billing agents").locator("tbody tr").first
    balance = row.locator("[data-figure=open-balance]")
    expect(balance).to_have_text("$1,234.56")
    for control in [
        balance,
        row.get_by_role("link", name="Edit"),
        row.get_by_role("link", name="View"),
        row.get_by_role("link", name="Deactivate"),
    ]:
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390


# --- focus ----------------------------------------------------------------------------------


def test_focus_stays_on_the_sort_header_after_an_htmx_sort(live_server, login, manager, page):
    BillingAgentFactory(company_name="Alpha Repairs", phone="555-0002")
    BillingAgentFactory(company_name="Beta Repairs", phone="555-0001")
    login(manager)
    page.goto(f"{live_server.url}/billing-agents/")

    table = page.locator("#agent-table")
    table.get_by_role("link", name="Phone").click()
    expect(page).to_have_url(f"{live_server.url}/billing-agents/?sort=phone")
    expect(table.locator("tbody tr").first).to_contain_text("Beta Repairs")
    expect(table.locator("th[aria-sort=ascending]")).to_contain_text("Phone")

    expect(table.locator("[data-focus-key=sort-phone]")).to_be_focused()  # waits for settle
    focused = page.evaluate(
        "(() => { const a = document.activeElement;"
        " return [a.getAttribute('data-focus-key'), a.isConnected,"
        " !!a.closest('#agent-table')]; })()"
    )
    assert focused == ["sort-phone", True, True]


def test_focus_returns_to_the_opener_when_a_dialog_is_cancelled(live_server, login, clerk, page):
    ticket = TicketFactory(items=[("Screen protector", 1, "15.00", False)])
    login(clerk)
    page.goto(f"{live_server.url}{ticket.get_absolute_url()}")

    page.get_by_role("button", name="Remove Screen protector").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    expect(page.get_by_role("button", name="Remove Screen protector")).to_be_focused()
    assert TicketItem.objects.filter(ticket=ticket).exists()


def test_focus_returns_to_deactivate_after_its_dialog_is_cancelled(
    live_server, login, manager, page
):
    BillingAgentFactory(company_name="Harbor Insurance Group")
    login(manager)
    page.goto(f"{live_server.url}/billing-agents/")

    page.get_by_role("link", name="Deactivate").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("Deactivate Harbor Insurance Group?")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()

    expect(page.get_by_role("link", name="Deactivate")).to_be_focused()


# --- skip link ------------------------------------------------------------------------------


def test_skip_link_is_the_first_tab_stop_and_moves_to_main(live_server, login, clerk, page):
    login(clerk)
    page.goto(f"{live_server.url}/tickets/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
