"""The agent manage page's "Overdue" column: the aging report's past-due figure
(invoicing.aging), sortable, linked to the agent's overdue invoices, in the page's query."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoicing.accounts import account_for
from invoicing.aging import aging_rows, with_accounts
from tests.factories import BillingAgentFactory
from tests.reports.builders import invoices_past_due, pay, today

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_agents:agent_list")
D = Decimal


def overdue_cell(body: str, agent) -> str:
    row = body.split(f'id="agent-row-{agent.pk}"')[1].split("</tr>")[0]
    return row.split('data-figure="overdue">')[1].split("</td>")[0]


def test_overdue_is_the_aging_reports_past_due_sum(billing_client):
    late = BillingAgentFactory(company_name="Late Co", net_terms_days=30)
    current, *_ = invoices_past_due(late, {0: "9.00", 12: "20.00", 75: "30.00"})
    pay(current, "9.00", received_on=today())
    tidy = BillingAgentFactory(company_name="Tidy Co", net_terms_days=30)
    invoices_past_due(tidy, {-4: "50.00"})  # not due yet

    body = billing_client.get(LIST_URL).content.decode()

    token = f"agent-{late.pk}"
    assert overdue_cell(body, late) == (
        f'<a class="link-danger" href="/invoices/?payer={token}&amp;status=overdue">$50.00</a>'
    )
    assert overdue_cell(body, tidy) == "—"
    [row] = [r for r in with_accounts(aging_rows(today())) if r.account == account_for(late)]
    assert sum(a for b, a in row.buckets if b.is_past_due) == D("50.00")
    assert '<th scope="col" class="text-end d-none d-sm-table-cell">' in body  # hidden on phones


def test_overdue_sorts_both_ways(billing_client):
    agents = {}
    for name, amount in [("Small", "5.00"), ("Big", "500.00"), ("Mid", "50.00")]:
        agents[name] = BillingAgentFactory(company_name=name, net_terms_days=30)
        invoices_past_due(agents[name], {3: amount})
    none = BillingAgentFactory(company_name="None Due")

    def order(sort):
        html = billing_client.get(LIST_URL, {"sort": sort}).content.decode()
        found = [
            (html.find(f'id="agent-row-{a.pk}"'), a.company_name) for a in [*agents.values(), none]
        ]
        return [name for _, name in sorted(found)]

    assert order("overdue") == ["None Due", "Small", "Mid", "Big"]
    assert order("-overdue") == ["Big", "Mid", "Small", "None Due"]
    assert 'href="?sort=-overdue"' in billing_client.get(LIST_URL, {"sort": "overdue"}).text


def test_the_row_swapped_in_after_a_deactivate_keeps_the_figure(manager_client, htmx_headers):
    agent = BillingAgentFactory(company_name="Swap Co", net_terms_days=30)
    invoices_past_due(agent, {40: "12.34"})

    response = manager_client.post(
        reverse("billing_agents:agent_deactivate", args=[agent.pk]), headers=htmx_headers
    )

    assert "$12.34" in overdue_cell(response.content.decode(), agent)


@pytest.mark.parametrize("count", [2, 12])
def test_the_column_keeps_the_manage_page_at_six_queries(
    billing_client, django_assert_num_queries, count
):
    for n in range(count):
        agent = BillingAgentFactory(company_name=f"Agent {n:02d}", net_terms_days=30)
        invoices_past_due(agent, {-1: "1.00", 10: "2.00", 100: "3.00"})
    # user, permissions (one query), count, one page of agents (session: the cache)
    with django_assert_num_queries(4):
        response = billing_client.get(LIST_URL, {"sort": "-overdue"})
    assert [a.overdue for a in response.context["agents"]] == [D("5.00")] * count
