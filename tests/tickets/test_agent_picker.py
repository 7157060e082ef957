"""The ticket page's agent picker and the ticket list's agent filter search; neither page
lists the shop's agents (pickers never render more than their limit)."""

import re

import factory
import pytest
from django.urls import reverse
from django.utils import timezone

from billing_agents.models import BillingAgent
from core.combobox import LIMIT
from tests.factories import BillingAgentFactory, CustomerFactory, TicketFactory, agent_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

LIST_URL = reverse("tickets:ticket_list")

# Faker repeats company names; a name counted on a page must belong to one agent.
DISTINCT_NAME = factory.Sequence(lambda n: f"Listed Agency {n:05d}")


def url(name: str, ticket: Ticket) -> str:
    return reverse(f"tickets:{name}", args=[ticket.pk])


def names_on_page(html: str, agents) -> int:
    return sum(agent.company_name in html for agent in agents)


@pytest.fixture
def many_agents(db):
    return BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)


@pytest.fixture
def ticket(db):
    agent = BillingAgentFactory(company_name="Current Agent Co")
    return agent_ticket(agent)


# --- ticket page -------------------------------------------------------------------------


def test_ticket_page_never_lists_the_agents(front_desk_client, many_agents, ticket):
    html = front_desk_client.get(ticket.get_absolute_url()).text
    assert names_on_page(html, many_agents) == 0
    assert 'name="billing_agent"' in html and '<select name="billing_agent"' not in html
    assert 'role="combobox"' in html
    # The current agent is the picker's text, and the value its hidden input carries.
    assert 'value="Current Agent Co"' in html
    assert f'name="billing_agent" id="id_billing_agent" value="{ticket.billing_agent_id}"' in html


def test_ticket_page_shows_an_inactive_current_agent_and_keeps_it(front_desk_client, ticket):
    agent = ticket.billing_agent
    BillingAgent.objects.filter(pk=agent.pk).update(is_active=False, deactivated_at=timezone.now())
    html = front_desk_client.get(ticket.get_absolute_url()).text
    assert 'value="Current Agent Co (inactive)"' in html
    # Saving the picker unchanged keeps the inactive agent (nothing to refuse).
    data = {
        "billing_agent": agent.pk,
        "agent_q": "Current Agent Co (inactive)",
        "agent_q_shown": "Current Agent Co (inactive)",
    }
    response = front_desk_client.post(url("ticket_set_agent", ticket), data)
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


def test_choosing_an_inactive_agent_is_refused_beside_the_field(front_desk_client, ticket):
    gone = BillingAgentFactory(company_name="Gone Agency", inactive=True)
    data = {"billing_agent": gone.pk, "agent_q": "Gone Agency", "agent_q_shown": "Gone Agency"}
    response = front_desk_client.post(url("ticket_set_agent", ticket), data)
    assert response.status_code == 422
    assert "Choose an active billing agent" in response.text
    assert "id_billing_agent_error" in response.text
    ticket.refresh_from_db()
    assert ticket.billing_agent.company_name == "Current Agent Co"


def test_no_js_search_shows_at_most_the_limit_and_changes_nothing(
    front_desk_client, many_agents, ticket, htmx_headers
):
    for n in range(20):
        BillingAgentFactory(company_name=f"Searchable Agency {n:02d}")
    data = {
        "billing_agent": ticket.billing_agent_id,
        "agent_q": "searchable",
        "agent_q_shown": "Current Agent Co",
    }
    response = front_desk_client.post(url("ticket_set_agent", ticket), data)
    assert response.status_code == 200
    html = response.text
    assert html.count('type="radio" name="billing_agent"') == LIMIT
    assert "More than 15 match" in html
    assert 'value="searchable"' in html
    ticket.refresh_from_db()
    assert ticket.billing_agent.company_name == "Current Agent Co"
    # With htmx the same search answers the workspace.
    partial = front_desk_client.post(url("ticket_set_agent", ticket), data, headers=htmx_headers)
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<div id="ticket-workspace"')


def test_no_js_search_then_tick_then_save_chooses_the_agent(front_desk_client, ticket):
    harbor = BillingAgentFactory(company_name="Harbor Insurance")
    data = {
        "billing_agent": [ticket.billing_agent_id, harbor.pk],
        "agent_q": "harbor",
        "agent_q_shown": "harbor",
    }
    response = front_desk_client.post(url("ticket_set_agent", ticket), data)
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.billing_agent == harbor


def test_emptying_the_box_removes_the_agent(front_desk_client, ticket):
    data = {
        "billing_agent": ticket.billing_agent_id,
        "agent_q": "",
        "agent_q_shown": "Current Agent Co",
    }
    assert front_desk_client.post(url("ticket_set_agent", ticket), data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_ticket_page_query_count_is_fixed(front_desk_client, ticket, django_assert_max_num_queries):
    front_desk_client.get(ticket.get_absolute_url())
    with django_assert_max_num_queries(60) as few:
        front_desk_client.get(ticket.get_absolute_url())
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert front_desk_client.get(ticket.get_absolute_url()).status_code == 200


# --- ticket list filter --------------------------------------------------------------------


def test_ticket_list_never_lists_the_agents(front_desk_client, many_agents):
    html = front_desk_client.get(LIST_URL).text
    assert names_on_page(html, many_agents) == 0
    assert 'id="id_billing_agent_text"' in html and 'role="combobox"' in html
    assert "data-submit-on-pick" in html


def test_ticket_list_filter_shows_the_chosen_agent_and_filters(front_desk_client, many_agents):
    agent = many_agents[0]
    mine = agent_ticket(agent)
    other = TicketFactory(customer=CustomerFactory())
    response = front_desk_client.get(LIST_URL, {"billing_agent": agent.pk})
    tickets = list(response.context["tickets"])
    assert mine in tickets and other not in tickets
    assert f'value="{agent.company_name}"' in response.text
    assert names_on_page(response.text, many_agents[1:]) == 0


def test_ticket_list_no_js_search_links_at_most_the_limit(front_desk_client, many_agents):
    for n in range(20):
        BillingAgentFactory(company_name=f"Searchable Agency {n:02d}")
    response = front_desk_client.get(LIST_URL, {"agent_q": "searchable", "status": "open"})
    assert response.status_code == 200
    links = re.findall(r'<a href="\?([^"]*billing_agent=\d+[^"]*)">Searchable', response.text)
    assert len(links) == LIMIT
    assert all("status=open" in link and "agent_q" not in link for link in links)
    assert "More than 15 match" in response.text


def test_ticket_list_partial_keeps_working(front_desk_client, htmx_headers, many_agents):
    agent = many_agents[0]
    agent_ticket(agent)
    partial = front_desk_client.get(
        LIST_URL,
        {
            "billing_agent": agent.pk,
            "agent_q": agent.company_name,
            "agent_q_shown": agent.company_name,
        },
        headers=htmx_headers,
    )
    assert partial.text.lstrip().startswith('<div id="ticket-table"')
    assert len(partial.context["tickets"]) == 1


def test_ticket_list_query_count_is_fixed(front_desk_client, django_assert_max_num_queries):
    agent = BillingAgentFactory()
    front_desk_client.get(LIST_URL, {"billing_agent": agent.pk})
    with django_assert_max_num_queries(40) as few:
        front_desk_client.get(LIST_URL, {"billing_agent": agent.pk})
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    with django_assert_max_num_queries(len(few.captured_queries)):
        front_desk_client.get(LIST_URL, {"billing_agent": agent.pk})
