"""The aging report page (/reports/aging/): full page and htmx partial, CSV, roles, plan
gate, every sort, search, pages, links, a past day, bad dates and the query count."""

import csv
import html
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.plans import PLAN_REQUIRED_MESSAGE
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit
from tests.factories import BillingAgentFactory
from tests.reports.builders import clerk, days_ago, invoice_past_due, invoices_past_due, today

pytestmark = pytest.mark.django_db

URL = reverse("reports:aging")
EXPORT_URL = reverse("reports:aging_export")
D = Decimal


def give_credit(payer, amount: str):
    adjust_credit(account=account_for(payer), amount=D(amount), reason="Goodwill", by=clerk())


def credit_only_agents(count: int) -> list:
    agents = []
    for n in range(count):
        agent = BillingAgentFactory(company_name=f"Credit Holder {n:03d}")
        give_credit(agent, "1.00")
        agents.append(agent)
    return agents


def rows_in_order(response, agents) -> list:
    html = response.content.decode()
    found = [(html.find(f'id="aging-row-{account_for(a).pk}"'), a) for a in agents]
    return [a for pos, a in sorted(found, key=lambda pair: pair[0]) if pos >= 0]


@pytest.fixture
def three_agents(db):
    """Alpha, Bravo and Charlie, with different figures in every column (see the sorts)."""
    shapes = {
        "Alpha": ({-1: "1.00", 10: "30.00", 40: "200.00", 70: "5.00", 100: "60.00"}, "3.00"),
        "Bravo": ({-1: "2.00", 10: "10.00", 40: "100.00", 70: "6.00", 120: "40.00"}, "1.00"),
        "Charlie": ({-1: "3.00", 10: "20.00", 40: "300.00", 70: "4.00", 95: "50.00"}, "2.00"),
    }
    agents = {}
    for name, (amounts, credit) in shapes.items():
        agent = BillingAgentFactory(company_name=name, net_terms_days=30)
        invoices_past_due(agent, amounts)
        give_credit(agent, credit)
        agents[name] = agent
    return agents


# --- the page --------------------------------------------------------------------------


def test_full_page_shows_each_account_its_buckets_and_the_totals(billing_client, three_agents):
    response = billing_client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and "Aging report" in body
    alpha = account_for(three_agents["Alpha"])
    row = body.split(f'id="aging-row-{alpha.pk}"')[1].split("</tr>")[0]
    for figure in ["$1.00", "$30.00", "$200.00", "$5.00", "$60.00", "$296.00", "$3.00"]:
        assert figure in row
    assert (today() - timedelta(days=100)).isoformat() in row
    totals = body.split('data-testid="aging-totals"')[1].split("</tr>")[0]
    assert "Total (3 accounts)" in totals
    assert '<td class="money" data-total="total">$831.00</td>' in totals
    assert '<td class="money" data-total="credit">$6.00</td>' in totals
    assert response.context["state"].as_of == today()


def test_htmx_gets_the_table_partial(billing_client, three_agents, htmx_headers):
    response = billing_client.get(URL, {"sort": "name"}, headers=htmx_headers)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="aging-table"')
    assert "Alpha" in body and 'data-testid="aging-totals"' in body
    assert "HX-Request" in response["Vary"]


def test_search_form_and_sort_links_swap_the_table_and_work_without_javascript(
    billing_client, three_agents
):
    body = billing_client.get(URL, {"q": "alpha"}).content.decode()

    assert 'method="get" action="/reports/aging/"' in body
    assert (
        'hx-get="/reports/aging/" hx-target="#aging-table"' in body and 'hx-push-url="true"' in body
    )
    assert 'href="?q=alpha&amp;sort=name"' in body  # a plain link, kept search
    assert 'hx-get="?q=alpha&amp;sort=name"' in body
    assert 'name="sort" value="-total" form="aging-filters"' in body


def test_front_desk_gets_403_and_no_menu_link(front_desk_client):
    assert front_desk_client.get(URL).status_code == 403
    assert front_desk_client.get(EXPORT_URL).status_code == 403
    assert 'href="/reports/aging/"' not in front_desk_client.get("/").content.decode()


def test_billing_has_the_menu_link(billing_client):
    assert 'href="/reports/aging/"' in billing_client.get("/").content.decode()


@pytest.mark.parametrize("path", [URL, EXPORT_URL])
@pytest.mark.parametrize("htmx", [False, True])
def test_essentials_plan_refuses_the_report(manager_client, settings, path, htmx, htmx_headers):
    settings.SHOP_PLAN = "essentials"

    response = manager_client.get(path, headers=htmx_headers if htmx else {})

    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.content.decode()


# --- sort, search, pages ----------------------------------------------------------------

ASCENDING = {
    "name": ["Alpha", "Bravo", "Charlie"],
    "current": ["Alpha", "Bravo", "Charlie"],
    "d1_30": ["Bravo", "Charlie", "Alpha"],
    "d31_60": ["Bravo", "Alpha", "Charlie"],
    "d61_90": ["Charlie", "Alpha", "Bravo"],
    "over_90": ["Bravo", "Charlie", "Alpha"],
    "total": ["Bravo", "Alpha", "Charlie"],
    "credit": ["Bravo", "Charlie", "Alpha"],
    "oldest": ["Bravo", "Alpha", "Charlie"],
}


@pytest.mark.parametrize("key", list(ASCENDING))
def test_every_column_sorts_both_ways(billing_client, three_agents, key):
    agents = list(three_agents.values())

    def order(sort):
        response = billing_client.get(URL, {"sort": sort})
        return [a.company_name for a in rows_in_order(response, agents)]

    assert order(key) == ASCENDING[key]
    assert order(f"-{key}") == ASCENDING[key][::-1]


def test_default_sort_is_total_due_largest_first_and_unknown_sorts_fall_back(
    billing_client, three_agents
):
    agents = list(three_agents.values())
    expected = ["Charlie", "Alpha", "Bravo"]
    for params in ({}, {"sort": "bogus"}, {"sort": "-company_name"}):
        response = billing_client.get(URL, params)
        assert [a.company_name for a in rows_in_order(response, agents)] == expected


def test_header_links_flip_the_sorted_column_and_start_figures_largest_first(
    billing_client, three_agents
):
    body = billing_client.get(URL, {"sort": "d1_30"}).content.decode()

    assert 'href="?sort=-d1_30"' in body and 'aria-sort="ascending"' in body
    assert 'href="?sort=-total"' in body  # another figure: largest first
    assert 'href="?sort=name"' in body and 'href="?sort=oldest"' in body


def test_search_matches_the_payer_name_or_email_and_totals_follow(billing_client, three_agents):
    bravo = three_agents["Bravo"]

    response = billing_client.get(URL, {"q": bravo.email.upper()})

    assert rows_in_order(response, list(three_agents.values())) == [bravo]
    assert response.context["totals"]["total"] == D("158.00")
    assert "Total (1 account)" in response.content.decode()
    empty = billing_client.get(URL, {"q": "nobody at all"}).content.decode()
    assert "Nothing was owed by payers matching “nobody at all”" in empty


def test_pages_hold_50_accounts_and_the_totals_row_covers_them_all(billing_client, three_agents):
    credit_only_agents(50)

    first = billing_client.get(URL)
    second = billing_client.get(URL, {"page": 2, "sort": "-total"})

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 3
    body = second.content.decode()
    assert "Showing 51\N{EN DASH}53 of 53 accounts" in body
    assert "Total (53 accounts)" in body
    assert second.context["totals"]["credit"] == D("56.00")
    assert 'href="?page=1&amp;sort=-total"' in body and 'hx-target="#aging-table"' in body


def test_credit_only_accounts_are_listed_with_zero_buckets(billing_client):
    [holder] = credit_only_agents(1)

    body = billing_client.get(URL).content.decode()

    row = body.split(f'id="aging-row-{account_for(holder).pk}"')[1].split("</tr>")[0]
    assert '<span class="text-secondary">$0.00</span>' in row
    assert f'<a href="/billing-agents/{holder.pk}/">$1.00</a>' in row


# --- links ------------------------------------------------------------------------------


def test_each_figure_links_to_exactly_the_invoices_in_it(billing_client):
    agent = BillingAgentFactory(company_name="Linked Co", net_terms_days=30)
    current, late = invoices_past_due(agent, {-3: "11.00", 45: "22.00"})
    today = timezone.localdate()

    body = billing_client.get(URL).content.decode()

    hrefs = dict(re.findall(r'data-figure="(\w+)"><a href="([^"]+)"', body))
    listed = {}
    for key in ("current", "d31_60", "total"):
        href = html.unescape(hrefs[key])
        assert href.startswith("/invoices/?") and f"payer=agent-{agent.pk}" in href
        listed[key] = billing_client.get(href).content.decode()
    assert current.number in listed["current"] and late.number not in listed["current"]
    assert late.number in listed["d31_60"] and current.number not in listed["d31_60"]
    assert current.number in listed["total"] and late.number in listed["total"]
    d31_60 = html.unescape(hrefs["d31_60"])
    assert f"due_from={(today - timedelta(days=60)).isoformat()}" in d31_60
    assert f"due_to={(today - timedelta(days=31)).isoformat()}" in d31_60


def test_the_invoice_list_filters_by_due_date_and_unpaid(billing_client):
    agent = BillingAgentFactory(company_name="Dated Co", net_terms_days=30)
    current, late = invoices_past_due(agent, {-3: "11.00", 45: "22.00"})
    day = (timezone.localdate() - timedelta(days=10)).isoformat()
    before = billing_client.get("/invoices/", {"due_to": day, "status": "unpaid"}).content.decode()
    after = billing_client.get("/invoices/", {"due_from": day}).content.decode()
    assert late.number in before and current.number not in before
    assert current.number in after and late.number not in after
    bad = billing_client.get("/invoices/", {"due_from": "1999-01-01"}).content.decode()
    assert current.number in bad and late.number in bad  # a bad filter is not applied


# --- a past day and bad dates -------------------------------------------------------------


def test_as_of_a_past_day_shows_what_was_owed_then(billing_client):
    agent = BillingAgentFactory(company_name="Then Co", net_terms_days=30)
    invoice_past_due(agent, 10, amount="40.00")  # due 10 days ago

    then = billing_client.get(URL, {"as_of": days_ago(15).isoformat()})
    before = billing_client.get(URL, {"as_of": days_ago(45).isoformat()})

    assert then.context["state"].as_of == days_ago(15)
    [row] = then.context["rows"]
    assert (row["row"].current, row["row"].d1_30) == (D("40.00"), D("0"))
    assert f'value="{days_ago(15).isoformat()}"' in then.content.decode()
    assert before.context["rows"] == []  # not issued yet


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-02-30", "Enter a valid date."),
        ("1999-12-31", "Enter a date between 2000-01-01 and"),
        ((today() + timedelta(days=400)).isoformat(), "Enter a date between 2000-01-01 and"),
    ],
)
def test_a_bad_day_is_named_beside_the_field_and_today_is_shown(
    billing_client, htmx_headers, value, message
):
    response = billing_client.get(URL, {"as_of": value})

    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["state"].as_of == today()
    assert 'id="id_as_of_error"' in body and message in body
    partial = billing_client.get(URL, {"as_of": value}, headers=htmx_headers).content.decode()
    assert 'data-testid="aging-as-of-error"' in partial and message in partial


def test_a_day_up_to_a_year_ahead_shows_what_will_be_past_due_by_then(billing_client):
    agent = BillingAgentFactory(company_name="Ahead Co", net_terms_days=30)
    invoice_past_due(agent, -10, amount="40.00")  # due in 10 days

    response = billing_client.get(URL, {"as_of": (today() + timedelta(days=20)).isoformat()})

    [row] = response.context["rows"]
    assert row["row"].d1_30 == D("40.00")


# --- CSV ----------------------------------------------------------------------------------


def test_csv_has_every_row_in_the_page_order_with_formulas_neutralised(
    billing_client, three_agents
):
    evil = BillingAgentFactory(company_name="=HYPERLINK(evil)", email="@x@agent.example")
    invoice_past_due(evil, 1, amount="1.50")
    credit_only_agents(55)

    response = billing_client.get(EXPORT_URL, {"sort": "-total", "as_of": today().isoformat()})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="aging-{today():%Y-%m-%d}.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0] == [
        "Payer",
        "Kind",
        "Email",
        "Current",
        "1\N{EN DASH}30 days",
        "31\N{EN DASH}60 days",
        "61\N{EN DASH}90 days",
        "Over 90 days",
        "Total due",
        "Unapplied credit",
        "Oldest due date",
        "As of",
    ]
    assert len(rows) == 1 + 3 + 1 + 55  # every row, not one page
    assert [r[0] for r in rows[1:4]] == ["Charlie", "Alpha", "Bravo"]
    alpha = rows[2]
    assert alpha[3:10] == ["1.00", "30.00", "200.00", "5.00", "60.00", "296.00", "3.00"]
    assert alpha[10] == (today() - timedelta(days=100)).isoformat()
    assert rows[4][:3] == ["'=HYPERLINK(evil)", "Billing agent", "'@x@agent.example"]


def test_csv_follows_the_search(billing_client, three_agents):
    export = billing_client.get(EXPORT_URL, {"q": "brav"})
    rows = list(csv.reader(io.StringIO(export.getvalue().decode())))
    assert [r[0] for r in rows[1:]] == ["Bravo"]


# --- queries ------------------------------------------------------------------------------


def _queries(client, params=None, headers=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, params or {}, headers=headers or {}).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("scale", [1, 12])
def test_one_page_runs_a_fixed_number_of_queries(
    billing_client, htmx_headers, django_assert_max_num_queries, scale
):
    for n in range(scale):
        agent = BillingAgentFactory(company_name=f"Owing {n:02d}", net_terms_days=30)
        invoices_past_due(agent, {-2: "5.00", 20: "6.00", 100: "7.00"})
    credit_only_agents(5 * scale)

    # session, user, 2 permission queries; totals (2), one page of rows, its accounts
    with django_assert_max_num_queries(8):
        billing_client.get(URL)
    with django_assert_max_num_queries(8):
        billing_client.get(URL, {"as_of": days_ago(30).isoformat(), "sort": "name", "page": 2})
    with django_assert_max_num_queries(8):
        billing_client.get(URL, {"q": "owing"}, headers=htmx_headers)


def test_the_query_count_does_not_grow_with_the_accounts(billing_client):
    agent = BillingAgentFactory(company_name="Owing first", net_terms_days=30)
    invoices_past_due(agent, {5: "5.00"})
    _queries(billing_client)  # the user's permission set is cached from here on
    small = [_queries(billing_client), _queries(billing_client, {"as_of": days_ago(9)})]
    for _ in range(8):
        invoices_past_due(BillingAgentFactory(net_terms_days=30), {-1: "1.00", 64: "2.00"})
    credit_only_agents(60)

    large = [_queries(billing_client), _queries(billing_client, {"as_of": days_ago(9)})]

    assert small == large == [5, 5]  # session and permissions from the cache
