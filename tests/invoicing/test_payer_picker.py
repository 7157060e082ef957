"""The payer picker: the invoice list's payer filter and the create page's "who pays"
search as the clerk types; neither page lists the shop's payers."""

import re

import factory
import pytest
from django.urls import reverse

from core.combobox import LIMIT
from core.plans import PLAN_REQUIRED_MESSAGE
from tests.factories import AccountFactory, BillingAgentFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

SEARCH_URL = reverse("invoicing:payer_search")
LIST_URL = reverse("invoicing:invoice_list")
CREATE_URL = reverse("invoicing:invoice_create")

# Faker repeats company names; a name counted on a page must belong to one agent.
DISTINCT_NAME = factory.Sequence(lambda n: f"Listed Agency {n:05d}")


def options_in(html: str) -> int:
    return len(re.findall(r'role="option"', html))


@pytest.fixture
def many_payers(db):
    """40 agents that have an account (so the list filter could offer each one)."""
    agents = BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    for agent in agents:
        AccountFactory(billing_agent=agent)
    return agents


def names_on_page(html: str, agents) -> int:
    return sum(agent.company_name in html for agent in agents)


# --- the endpoint ------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["billable", "invoiced"])
def test_payer_search_returns_at_most_the_limit(billing_client, many_payers, scope):
    html = billing_client.get(SEARCH_URL, {"scope": scope}).text
    assert options_in(html) == LIMIT
    assert "More than 15 match" in html


def test_billable_scope_offers_agents_and_directly_billed_customers(billing_client):
    agent = BillingAgentFactory(company_name="Lakeside Schools")
    direct = CustomerFactory(first_name="Lake", last_name="Direct", net_terms_days=15)
    CustomerFactory(first_name="Lake", last_name="Nobill", net_terms_days=None)
    html = billing_client.get(SEARCH_URL, {"payer_q": "lake", "scope": "billable"}).text
    assert f'data-value="agent-{agent.pk}"' in html
    assert f'data-value="customer-{direct.pk}"' in html
    assert "Nobill" not in html
    assert options_in(html) == 2


def test_invoiced_scope_offers_payers_that_have_an_account(billing_client):
    billed = BillingAgentFactory(company_name="Lakeside Billed")
    AccountFactory(billing_agent=billed)
    BillingAgentFactory(company_name="Lakeside Never")
    html = billing_client.get(SEARCH_URL, {"q": "lakeside", "scope": "invoiced"}).text
    assert f'data-value="agent-{billed.pk}"' in html and "Lakeside Never" not in html


def test_payer_search_needs_the_invoicing_permission(front_desk_client):
    for scope in ("billable", "invoiced"):
        assert front_desk_client.get(SEARCH_URL, {"scope": scope}).status_code == 403


def test_payer_search_is_refused_on_essentials(billing_client, settings):
    settings.SHOP_PLAN = "essentials"
    response = billing_client.get(SEARCH_URL, {"q": "a"})
    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.text


def test_payer_search_runs_a_fixed_number_of_queries(
    billing_client, many_payers, django_assert_max_num_queries
):
    billing_client.get(SEARCH_URL)
    with django_assert_max_num_queries(7):
        assert billing_client.get(SEARCH_URL, {"q": "a", "scope": "invoiced"}).status_code == 200


# --- the invoice list's filter --------------------------------------------------------------


def test_invoice_list_never_lists_the_payers(billing_client, many_payers):
    html = billing_client.get(LIST_URL).text
    assert names_on_page(html, many_payers) == 0
    assert 'id="id_payer_text"' in html and 'role="combobox"' in html
    assert "scope" in html and "invoiced" in html


def test_invoice_list_filter_shows_the_chosen_payer(billing_client, many_payers):
    agent = many_payers[0]
    mine = InvoiceFactory(billing_agent=agent)
    other = InvoiceFactory(billing_agent=many_payers[1])
    response = billing_client.get(LIST_URL, {"payer": f"agent-{agent.pk}"})
    invoices = list(response.context["invoices"])
    assert mine in invoices and other not in invoices
    assert f'value="{agent.company_name}"' in response.text


def test_invoice_list_refuses_a_payer_that_is_not_one(billing_client):
    response = billing_client.get(LIST_URL, {"payer": "agent-999999"})
    assert "Choose a payer from the suggestions." in response.text
    assert 'id="id_payer_error"' in response.text


def test_invoice_list_no_js_search_links_at_most_the_limit(billing_client, many_payers):
    for n in range(20):
        AccountFactory(billing_agent=BillingAgentFactory(company_name=f"Searchable Co {n:02d}"))
    response = billing_client.get(LIST_URL, {"payer_q": "searchable", "status": "unpaid"})
    assert response.status_code == 200
    links = re.findall(r'<a href="\?([^"]*payer=agent-\d+[^"]*)">Searchable', response.text)
    assert len(links) == LIMIT
    assert all("status=unpaid" in link and "payer_q" not in link for link in links)


def test_invoice_list_query_count_is_fixed(billing_client, django_assert_max_num_queries):
    agent = BillingAgentFactory()
    InvoiceFactory(billing_agent=agent)
    params = {"payer": f"agent-{agent.pk}"}
    billing_client.get(LIST_URL, params)
    with django_assert_max_num_queries(40) as few:
        billing_client.get(LIST_URL, params)
    for other in BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME):
        AccountFactory(billing_agent=other)
    with django_assert_max_num_queries(len(few.captured_queries)):
        billing_client.get(LIST_URL, params)


# --- the create page ---------------------------------------------------------------------


def test_create_page_never_lists_the_payers(billing_client, many_payers):
    html = billing_client.get(CREATE_URL).text
    assert names_on_page(html, many_payers) == 0
    assert 'id="id_payer_text"' in html and "data-submit-on-pick" in html


def test_create_page_no_js_search_links_at_most_the_limit(billing_client, many_payers):
    for n in range(20):
        BillingAgentFactory(company_name=f"Searchable Co {n:02d}")
    response = billing_client.get(CREATE_URL, {"payer_q": "searchable"})
    assert response.status_code == 200
    links = re.findall(r'<a href="\?(payer=agent-\d+)">Searchable', response.text)
    assert len(links) == LIMIT


def test_create_page_query_count_is_fixed(billing_client, django_assert_max_num_queries):
    billing_client.get(CREATE_URL)
    with django_assert_max_num_queries(40) as few:
        billing_client.get(CREATE_URL)
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert billing_client.get(CREATE_URL).status_code == 200
