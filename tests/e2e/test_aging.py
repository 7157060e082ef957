"""Journey on the aging report in Chromium: search, sort and page swap the table in place,
the URL keeps the state, a past day shows what was owed then; no CSP violation."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.roles import BILLING
from tests.factories import BillingAgentFactory, UserFactory
from tests.reports.builders import days_ago, invoices_past_due

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_clerk_searches_sorts_and_looks_back(live_server, login, page):
    clerk = UserFactory(username="e2e-billing", role=BILLING)
    harbor = BillingAgentFactory(company_name="Harbor Insurance", net_terms_days=30)
    invoices_past_due(harbor, {5: "100.00", 45: "40.00"})
    summit = BillingAgentFactory(company_name="Summit Schools", net_terms_days=30)
    invoices_past_due(summit, {-3: "500.00"})
    login(clerk)
    page.get_by_role("link", name="Aging").click()

    table = page.get_by_role("table", name="Aging by account")
    rows = table.locator("tbody tr")
    expect(rows.first).to_contain_text("Summit Schools")  # largest total due first
    expect(page.get_by_test_id("aging-totals")).to_contain_text("$640.00")

    table.get_by_role("link", name="Payer").click()
    expect(rows.first).to_contain_text("Harbor Insurance")
    expect(page).to_have_url(f"{live_server.url}/reports/aging/?sort=name")

    page.get_by_label("Search").fill("summit")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("aging-totals")).to_contain_text("$500.00")
    expect(page).to_have_url(f"{live_server.url}/reports/aging/?as_of=&q=summit&sort=name")

    page.get_by_label("Search").fill("")
    page.get_by_label("As of").fill(days_ago(20).isoformat())
    page.get_by_label("As of").dispatch_event("change")
    expect(page.get_by_test_id("aging-as-of")).to_have_text(days_ago(20).isoformat())
    # 20 days ago Harbor's later invoice was not due yet and its older one 25 days late.
    harbor_row = rows.filter(has_text="Harbor Insurance")
    expect(harbor_row.locator("[data-figure=current]")).to_have_text("$100.00")
    expect(harbor_row.locator("[data-figure=d1_30]")).to_have_text("$40.00")

    harbor_row.locator("[data-figure=d1_30] a").click()
    # The link lists the invoices in that bucket then: due 1 to 30 days before that day.
    then = days_ago(20)
    expect(page).to_have_url(
        f"{live_server.url}/invoices/?payer=agent-{harbor.pk}"
        f"&due_from={(then - timedelta(days=30)).isoformat()}"
        f"&due_to={(then - timedelta(days=1)).isoformat()}"
    )
    expect(page.locator("#invoice-table tbody tr")).to_have_count(1)
